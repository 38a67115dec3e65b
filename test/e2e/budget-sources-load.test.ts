import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProfileConfig } from '../../src/config/types.js';
import type { MockOptions } from '../../src/mock/options.js';
import { startRig } from '../helpers/in-process.js';
import { countsOf, openLoop, peakPerWindow, poolSize, ramp } from '../helpers/pool-load.js';

// The auto pool's other sources of budget, under load: budget headers other than Genesys's old
// inin-ratelimit-* (the IETF RateLimit fields, x-ratelimit-*), and a 429 whose body names its limit
// (docs/genesys.md §5). The mock and a sidecar in this process over real HTTP on port 0 (a pair of
// processes each would spend longer starting than loading); short windows (25 requests per 5 s,
// Genesys's 300/minute ratio) and about a hundred requests each. The figures print for the record.
const LIMIT = 25;
const WINDOW_MS = 5_000;
const RATE = 40;

interface PoolAnswer {
  profiles: { pool: { size: number; growth: string; rateLimit: { source: string } } }[];
}

/** One mock and one sidecar under an open-loop load; what the clients, the upstream and the log saw. */
async function run(mock: Partial<MockOptions>, profile: Partial<ProfileConfig>, durationMs: number) {
  const lines: string[] = [];
  const rig = await startRig({
    mock: { perTokenLimit: LIMIT, perTokenWindowMs: WINDOW_MS, ...mock },
    profile: { poolAuto: true, ...profile },
    logLevel: 'warn',
    logStream: { write: (line) => void lines.push(line) },
  });
  const target = { url: rig.proxyUrl, adminUrl: rig.adminUrl };
  const load = await openLoop([target], ramp(RATE, 500), durationMs, async () => countsOf(rig.mock.stats()));
  const stats = rig.mock.stats();
  const answer = (await (await fetch(`${rig.adminUrl}/token`)).json()) as PoolAnswer;
  return {
    requests: load.sent.length,
    clientStatuses: load.statuses,
    upstream429: stats.api.byStatus['429'] ?? 0,
    tokenRequests: stats.tokenRequests.total,
    peakPerWindow: peakPerWindow(load.sent, WINDOW_MS),
    poolSize: await poolSize(rig.adminUrl),
    pool: answer.profiles[0]!.pool,
    timeline: load.timeline.map(({ atS, poolSizes, tokenRequests, upstream429 }) => `${atS}s:${poolSizes.join('/')}:${tokenRequests}:${upstream429}`).join(' '),
    log: lines.join(''),
  };
}

// The three runs go at once (the loads are light): the file takes about one run's time. Each test
// awaits its own; a failure is reported by the test that awaits it.
const runs = {
  ietf: run({ budgetHeaders: 'ietf' }, {}, 3_000),
  'x-ratelimit': run({ budgetHeaders: 'x-ratelimit' }, {}, 3_000),
  // The sidecar's own count (the limit set, 25 per 5 s) would grow the pool for 40 requests/s.
  perClient: run({ rateLimitMode: 'per-client', limitIn429: true }, { rateLimitPerToken: (LIMIT * 60_000) / WINDOW_MS, rateLimitWindowMs: WINDOW_MS }, 2_000),
};
for (const started of Object.values(runs)) started.catch(() => {});

test('IETF RateLimit fields, and x-ratelimit-* with an epoch reset: the pool grows on the announced budget, no client error, no limit setting', async (t) => {
  for (const kind of ['ietf', 'x-ratelimit'] as const) {
    const { log: _log, ...figures } = await runs[kind];
    t.diagnostic(`${kind}: ${JSON.stringify(figures)}`);
    assert.deepEqual(Object.keys(figures.clientStatuses), ['200'], `${kind}: client statuses ${JSON.stringify(figures.clientStatuses)}`);
    assert.ok(figures.requests >= RATE * 2, `${kind}: ${figures.requests} requests offered`);
    // Nothing set and nothing learnt: the headers were the budget.
    assert.equal(figures.pool.rateLimit.source, 'unknown', kind);
    // At least the tokens the requests of the busiest window took; at most those a window at the
    // load's rate takes (the sizer sizes for the rate, and the load ends within the first window),
    // the window as long as the headers make it (their resets are whole seconds, rounded up: up to
    // a second more), + 2 as in the inin scenario of rate-limit-pool.test.ts.
    const served = Math.ceil(figures.peakPerWindow / LIMIT);
    const bound = Math.ceil((RATE * (WINDOW_MS + 1_000)) / 1000 / LIMIT) + 2;
    assert.ok(figures.poolSize >= served && figures.poolSize <= bound, `${kind}: pool of ${figures.poolSize}, ${served} to ${bound} expected`);
    assert.ok(figures.upstream429 <= figures.requests * 0.01, `${kind}: ${figures.upstream429} upstream 429s of ${figures.requests}`);
  }
});

test("a limit per OAuth client that the 429's body names: growth stops at that 429, and the pool goes back to one token", async (t) => {
  const { log, ...figures } = await runs.perClient;
  t.diagnostic(JSON.stringify(figures));
  assert.equal(figures.pool.growth, 'stopped: limit is per client, not per token');
  assert.match(log, /"limitKey":"mock\.client\.rate\.per\.minute"/, 'stopped by the name in the body');
  assert.equal(figures.poolSize, 1);
  // One probe token at most before the first 429 (growth goes a token at a time until a probe tells).
  assert.ok(figures.tokenRequests - 1 <= 1, `${figures.tokenRequests} token requests`);
  // The client-wide limit's 429s reach the clients unchanged (policy pass); nothing else goes wrong.
  assert.equal((figures.clientStatuses['200'] ?? 0) + (figures.clientStatuses['429'] ?? 0), figures.requests, JSON.stringify(figures.clientStatuses));
  assert.ok((figures.clientStatuses['200'] ?? 0) >= LIMIT - 2, JSON.stringify(figures.clientStatuses));
});
