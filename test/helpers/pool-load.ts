import { after } from 'node:test';
import { Agent } from 'undici';
import { getStatus } from '../../src/demo/load.js';
import { waitFor } from '../../src/harness/wait-for.js';
import { startMock, startSidecar } from './processes.js';

/**
 * An open-loop load for the pool's end-to-end tests: requests offered at a rate that is a function
 * of time (a ramp, a step), spread over the sidecars in turn, whatever the answers take; the pool
 * size of each sidecar and the mock's token requests sampled each second. Bounded in count (the
 * in-flight cap) and time (`durationMs`), loopback only.
 */
export interface PoolLoadRun {
  /** When each request was offered (ms from the start). */
  sent: number[];
  statuses: Record<string, number>;
  /** Each second: the instances' pool sizes, and the upstream's token requests and 429s so far. */
  timeline: { atS: number; poolSizes: number[]; tokenRequests: number; upstream429: number }[];
  skipped: number;
  /** Client answers by status, per second of offering. */
  bySecond: Record<string, number>[];
}

export interface Target {
  readonly url: string;
  readonly adminUrl: string;
}

/** Requests in flight beyond which the loop stops offering more (bounds a stuck run). */
const MAX_IN_FLIGHT = 2_000;

export async function poolSize(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const match = /^token_sidecar_pool_size\{profile="default"\} (\d+)/m.exec(text);
  return Number(match?.[1]);
}

/** What the upstream has counted so far, read once a second for the timeline. */
export type UpstreamCounts = () => Promise<{ tokenRequests: number; upstream429: number }>;

/** The timeline's counts from the mock's /__stats (or its in-process stats()). */
export function countsOf(stats: { tokenRequests: { total: number }; api: { byStatus: Record<string, number> } }) {
  return { tokenRequests: stats.tokenRequests.total, upstream429: stats.api.byStatus['429'] ?? 0 };
}

/**
 * Offers requests for `durationMs` at `ratePerSecond(ms since start)`: the count due by each moment
 * is the integral of the rate, taken in 5 ms steps.
 */
export async function openLoop(targets: readonly Target[], ratePerSecond: (ms: number) => number, durationMs: number, upstreamCounts: UpstreamCounts, path = '/api/v2/tokens/me'): Promise<PoolLoadRun> {
  const agent = new Agent({ connections: 256, keepAliveTimeout: 10_000 });
  const run: PoolLoadRun = { sent: [], statuses: {}, timeline: [], skipped: 0, bySecond: [] };
  const started = performance.now();
  const pending = new Set<Promise<void>>();
  let offered = 0;
  let due = 0;
  let last = 0;
  let nextSample = 0;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= durationMs) break;
    due += (ratePerSecond((last + elapsed) / 2) * (elapsed - last)) / 1000;
    last = elapsed;
    while (offered < due) {
      const i = offered++;
      if (pending.size >= MAX_IN_FLIGHT) {
        run.skipped++;
        continue;
      }
      const at = performance.now() - started;
      run.sent.push(at);
      const second = Math.floor(at / 1000);
      const count = (status: string) => {
        run.statuses[status] = (run.statuses[status] ?? 0) + 1;
        const bucket = (run.bySecond[second] ??= {});
        bucket[status] = (bucket[status] ?? 0) + 1;
      };
      const p: Promise<void> = getStatus(agent, `${targets[i % targets.length]!.url}${path}`)
        .then(
          (status) => count(String(status)),
          () => count('error'),
        )
        .finally(() => pending.delete(p));
      pending.add(p);
    }
    if (elapsed >= nextSample) {
      nextSample += 1_000;
      void Promise.all([Promise.all(targets.map((s) => poolSize(s.adminUrl))), upstreamCounts()]).then(
        ([poolSizes, counts]) => run.timeline.push({ atS: Math.round(elapsed / 1000), poolSizes, ...counts }),
        () => {},
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(pending);
  await agent.close();
  run.timeline.sort((a, b) => a.atS - b.atS);
  return run;
}

/** The most requests offered within any `windowMs`. */
export function peakPerWindow(sent: readonly number[], windowMs: number): number {
  let peak = 0;
  for (let lo = 0, hi = 0; hi < sent.length; hi++) {
    while (sent[hi]! - sent[lo]! >= windowMs) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

/** A rate that rises linearly from 0 to `rate` over `rampMs`, then holds. */
export const ramp = (rate: number, rampMs: number) => (ms: number) => (ms < rampMs ? (rate * ms) / rampMs : rate);

/** The per-token limit the pool scenarios give the mock: 300 a minute, kept as a ratio on a shorter window. */
export interface ScenarioLimit {
  readonly perWindow: number;
  readonly windowMs: number;
}

interface TokenAnswer {
  profiles: { pool: { size: number; growth: string; rateLimit: { perMinute: number | null; perWindow: number | null; windowSeconds: number; source: string; note?: string } } }[];
}

/** What an admin port's GET /token says of the default profile's pool (the first worker's with WORKERS). */
export async function poolStatus(adminUrl: string): Promise<TokenAnswer['profiles'][0]['pool']> {
  const answer = (await (await fetch(`${adminUrl}/token`)).json()) as TokenAnswer & { workers?: TokenAnswer[] };
  return (answer.workers?.[0] ?? answer).profiles[0]!.pool;
}

/**
 * One pool scenario of the end-to-end tests: the mock with `limit` per token (and `mockArgs`), the
 * sidecars `sidecarsFor` starts on it, an open loop at `rate` for `durationMs`; then the figures
 * (client answers, the mock's counts, each instance's pool and the pool each second). Processes
 * stop when the test file ends.
 */
export async function runPoolScenario(
  limit: ScenarioLimit,
  mockArgs: string[],
  sidecarsFor: (mockUrl: string) => Promise<Target[]>,
  rate: (ms: number) => number,
  durationMs: number,
) {
  const mock = await startMock(['--per-token-limit', String(limit.perWindow), '--per-token-window', String(limit.windowMs), ...mockArgs]);
  after(() => mock.proc.stop('SIGKILL'));
  const started = performance.now();
  const sidecars = await sidecarsFor(mock.url);
  const before = await mock.stats();
  const load = await openLoop(sidecars, rate, durationMs, async () => countsOf(await mock.stats()));
  const afterRun = await mock.stats();
  // Instances adopt the fleet's size at their next poll of the store (each second): the last growth
  // may be a poll away on some of them when the load ends.
  const sizes = () => Promise.all(sidecars.map((s) => poolSize(s.adminUrl)));
  await waitFor(async () => new Set(await sizes()).size === 1, { timeoutMs: 5_000 }).catch(() => {});
  const byStatus = (stats: typeof before, status: string) => stats.api.byStatus[status] ?? 0;
  return {
    requests: load.sent.length,
    skipped: load.skipped,
    clientStatuses: load.statuses,
    clientBySecond: load.bySecond,
    upstreamRequests: afterRun.api.total - before.api.total,
    upstream429: byStatus(afterRun, '429') - byStatus(before, '429'),
    upstream401: byStatus(afterRun, '401') - byStatus(before, '401'),
    tokenRequests: afterRun.tokenRequests.total,
    /** Since the first sidecar was started: what a one-token ideal is counted over. */
    elapsedMs: performance.now() - started,
    peakPerWindow: peakPerWindow(load.sent, limit.windowMs),
    finalPoolSizes: await sizes(),
    pool: await poolStatus(sidecars[0]!.adminUrl),
    /** Each second as `<s>s:<pool sizes>:<token requests so far>:<upstream 429s so far>`. */
    timeline: load.timeline.map(({ atS, poolSizes, tokenRequests, upstream429 }) => `${atS}s:${poolSizes.join('/')}:${tokenRequests}:${upstream429}`).join(' '),
  };
}

export type PoolFigures = Awaited<ReturnType<typeof runPoolScenario>>;

/** Starts `count` sidecars with `env` on the mock, stopped when the test file ends. */
export function sidecarsOn(count: number, env: Record<string, string>): (mockUrl: string) => Promise<Target[]> {
  return (mockUrl) =>
    Promise.all(
      Array.from({ length: count }, async () => {
        const sidecar = await startSidecar(mockUrl, env);
        after(() => sidecar.proc.stop('SIGKILL'));
        return sidecar;
      }),
    );
}
