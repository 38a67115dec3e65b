import { Agent } from 'undici';
import { getStatus } from '../../src/demo/load.js';

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
  /** Upstream 429s seen by the clients, by second from the start. */
  timeline: { atS: number; poolSizes: number[]; tokenRequests: number }[];
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

/**
 * Offers requests for `durationMs` at `ratePerSecond(ms since start)`: the count due by each moment
 * is the integral of the rate, taken in 5 ms steps.
 */
export async function openLoop(targets: readonly Target[], ratePerSecond: (ms: number) => number, durationMs: number, tokenRequests: () => Promise<number>, path = '/api/v2/tokens/me'): Promise<PoolLoadRun> {
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
      void Promise.all([Promise.all(targets.map((s) => poolSize(s.adminUrl))), tokenRequests()]).then(
        ([poolSizes, tokens]) => run.timeline.push({ atS: Math.round(elapsed / 1000), poolSizes, tokenRequests: tokens }),
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
