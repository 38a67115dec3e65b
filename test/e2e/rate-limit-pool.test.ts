import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Agent } from 'undici';
import { getStatus } from '../../src/demo/load.js';
import { startRedisNodes, stopAllRedisNodes, type RedisNode } from '../helpers/redis-server.js';
import { startMock, startSidecar } from '../helpers/processes.js';

// An auto pool (TOKEN_POOL_SIZE=auto, the default) under Genesys's per-token limit of 300 requests a
// minute, kept as a ratio on a shorter window (50 per 10 s): two sidecar processes on one
// redis-server, an open-loop load at a fixed rate offered for longer than a window. The figures
// (requests, 429s, token requests, pool size each second) are printed for the record.
const LIMIT = 50;
const WINDOW_MS = 10_000;
const RATE = 200;
/** Reached in this long from idle, as load generators ramp their threads up. */
const RAMP_MS = 1_000;
const DURATION_MS = 14_000;
/** Requests in flight beyond which the open loop stops offering more (bounds a stuck run). */
const MAX_IN_FLIGHT = 2_000;

after(() => stopAllRedisNodes());

interface Run {
  sent: number[];
  statuses: Record<string, number>;
  timeline: { atS: number; poolSizes: number[]; tokenRequests: number }[];
  skipped: number;
}

async function poolSize(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const match = /^token_sidecar_pool_size\{profile="default"\} (\d+)/m.exec(text);
  return Number(match?.[1]);
}

/** Offers RATE requests/s (after a RAMP_MS ramp) for DURATION_MS, alternating the sidecars; samples the pool each second. */
async function openLoop(sidecars: { url: string; adminUrl: string }[], tokenRequests: () => Promise<number>): Promise<Run> {
  const agent = new Agent({ connections: 256, keepAliveTimeout: 10_000 });
  const run: Run = { sent: [], statuses: {}, timeline: [], skipped: 0 };
  const started = performance.now();
  const pending = new Set<Promise<void>>();
  let offered = 0;
  let nextSample = 0;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= DURATION_MS) break;
    // Requests due by now: the integral of the ramped rate.
    const due = elapsed < RAMP_MS ? (RATE * elapsed * elapsed) / (2 * RAMP_MS) / 1000 : (RATE * (elapsed - RAMP_MS / 2)) / 1000;
    while (offered < due) {
      const i = offered++;
      if (pending.size >= MAX_IN_FLIGHT) {
        run.skipped++;
        continue;
      }
      run.sent.push(performance.now() - started);
      const p: Promise<void> = getStatus(agent, `${sidecars[i % sidecars.length]!.url}/api/v2/tokens/me`)
        .then(
          (status) => void (run.statuses[status] = (run.statuses[status] ?? 0) + 1),
          () => void (run.statuses.error = (run.statuses.error ?? 0) + 1),
        )
        .finally(() => pending.delete(p));
      pending.add(p);
    }
    if (elapsed >= nextSample) {
      nextSample += 1_000;
      void Promise.all([Promise.all(sidecars.map((s) => poolSize(s.adminUrl))), tokenRequests()]).then(([poolSizes, tokens]) =>
        run.timeline.push({ atS: Math.round(elapsed / 1000), poolSizes, tokenRequests: tokens }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(pending);
  await agent.close();
  return run;
}

/** The most requests sent within any WINDOW_MS. */
function peakPerWindow(sent: number[]): number {
  let peak = 0;
  for (let lo = 0, hi = 0; hi < sent.length; hi++) {
    while (sent[hi]! - sent[lo]! >= WINDOW_MS) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

async function scenario(mode: 'per-token' | 'per-client', nodes: RedisNode[]) {
  const mock = await startMock(['--per-token-limit', String(LIMIT), '--per-token-window', String(WINDOW_MS), '--rate-limit-mode', mode, '--budget-headers', 'inin']);
  after(() => mock.proc.stop('SIGKILL'));
  const sidecars = await Promise.all(
    [0, 1].map(async () => {
      const sidecar = await startSidecar(mock.url, { REDIS_URL: nodes[0]!.url, UPSTREAM_CONNECTIONS: '128' });
      after(() => sidecar.proc.stop('SIGKILL'));
      return sidecar;
    }),
  );
  const tokenRequests = async () => (await mock.stats()).tokenRequests.total;
  const before = await mock.stats();
  const run = await openLoop(sidecars, tokenRequests);
  const afterRun = await mock.stats();
  const finalSizes = await Promise.all(sidecars.map((s) => poolSize(s.adminUrl)));
  const token = await (await fetch(`${sidecars[0]!.adminUrl}/token`)).json() as { profiles: { pool: unknown }[] };
  const upstream429 = (afterRun.api.byStatus['429'] ?? 0) - (before.api.byStatus['429'] ?? 0);
  const figures = {
    mode,
    offeredPerSecond: RATE,
    durationMs: DURATION_MS,
    requests: run.sent.length,
    skipped: run.skipped,
    clientStatuses: run.statuses,
    upstream429,
    upstreamRequests: afterRun.api.total - before.api.total,
    tokenRequests: afterRun.tokenRequests.total,
    peakPerWindow: peakPerWindow(run.sent),
    finalPoolSizes: finalSizes,
    pool: token.profiles[0]!.pool,
    timeline: run.timeline.sort((a, b) => a.atS - b.atS),
  };
  return { figures, finalSizes };
}

test('per-token limit: two sidecars at 200 requests/s for over a window get no 429, and the pool stays within ceil(peak per window / limit) + 2', async (t) => {
  const nodes = await startRedisNodes(1);
  const { figures, finalSizes } = await scenario('per-token', nodes);
  t.diagnostic(JSON.stringify(figures));
  const bound = Math.ceil(figures.peakPerWindow / LIMIT) + 2;
  assert.equal(figures.skipped, 0, 'the open loop never hit its in-flight cap');
  assert.ok(figures.requests >= (RATE * DURATION_MS) / 1000 - RATE, `${figures.requests} requests offered`);
  assert.equal(figures.upstream429, 0, 'upstream 429s');
  assert.deepEqual(Object.keys(figures.clientStatuses), ['200'], `client statuses ${JSON.stringify(figures.clientStatuses)}`);
  for (const size of finalSizes) assert.ok(size <= bound, `pool of ${size} over the bound ${bound}`);
  assert.ok(figures.tokenRequests <= bound, `${figures.tokenRequests} token requests for a pool bounded by ${bound}`);
  assert.deepEqual(finalSizes[0], finalSizes[1], 'both instances use the same slots');
});

test('per-client limit: the pool stops growing within 3 extra tokens and the sidecars keep serving, the upstream 429s reaching the clients (policy pass)', async (t) => {
  const nodes = await startRedisNodes(1);
  const { figures, finalSizes } = await scenario('per-client', nodes);
  t.diagnostic(JSON.stringify(figures));
  assert.equal(figures.skipped, 0, 'the open loop never hit its in-flight cap');
  for (const size of finalSizes) assert.ok(size - 1 <= 3, `pool of ${size}: more than 3 extra tokens`);
  assert.ok(figures.tokenRequests - 1 <= 3, `${figures.tokenRequests} token requests`);
  assert.deepEqual((figures.pool as { growth: string }).growth, 'stopped: limit is per client, not per token');
  // The client-wide limit allows LIMIT per window; what passes it is the upstream's 429, unchanged.
  const ok = figures.clientStatuses['200'] ?? 0;
  const limited = figures.clientStatuses['429'] ?? 0;
  assert.ok(ok >= LIMIT, `${ok} answered 200`);
  assert.equal(ok + limited, figures.requests, `client statuses ${JSON.stringify(figures.clientStatuses)}`);
  // Under pass the sidecar answers no 429 itself: each one a client got is an upstream 429 (a few
  // more upstream 429s were replayed on another slot first, whose answer the client got instead).
  assert.ok(limited > 0 && limited <= figures.upstream429, `${limited} 429s at the clients, ${figures.upstream429} upstream`);
});
