import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';
import { ramp, runPoolScenario, sidecarsOn, type PoolFigures } from '../helpers/pool-load.js';
import { FLEET_COUNT_INTERVAL_MS } from '../../src/pool/fleet-counts.js';
import { TokenLimit } from '../../src/pool/token-limit.js';

// The auto pool (TOKEN_POOL_SIZE=auto, the default) against an upstream that behaves like Genesys
// today: a per-token limit of 300 requests a minute, kept as a ratio on a shorter window (50 per
// 10 s), and no budget headers on any answer (docs/genesys.md §5), so the sidecars count each
// token's budget themselves and share the count through the store. Open-loop loads of 200
// requests/s for longer than a window. The figures (requests, 429s, token requests, and each
// second the pool sizes and token requests) are printed for the record.
const LIMIT = 50;
const WINDOW_MS = 10_000;
const PER_TOKEN = { perWindow: LIMIT, windowMs: WINDOW_MS };
const RATE = 200;
const RAMP_MS = 1_000;
const DURATION_MS = 14_000;
/** The sidecars' settings for that limit: 300/minute counted over 10 s windows is 50 per window. */
const COUNTED = { RATE_LIMIT_PER_TOKEN: '300', RATE_LIMIT_WINDOW_S: String(WINDOW_MS / 1000), UPSTREAM_CONNECTIONS: '128' };

after(() => stopAllRedisNodes());

/**
 * What keeping back costs a counted pool in tokens: the routing spends a token's usable budget
 * (47 of 50 where a fleet shares it) over its window and a bucket, so the demand needs that many
 * more tokens than the bare limit says. The slack for a window's edge stays what it was (+10).
 */
function marginCost(peakPerWindow: number): number {
  const limit = new TokenLimit(WINDOW_MS, (LIMIT * 60_000) / WINDOW_MS, 'setting');
  const spanMs = WINDOW_MS + limit.bucketMs;
  return Math.ceil((peakPerWindow * spanMs) / WINDOW_MS / limit.usableShared(FLEET_COUNT_INTERVAL_MS)) - Math.ceil(peakPerWindow / LIMIT);
}

function assertServedWithinBound(figures: PoolFigures, minRequests: number, counted: boolean) {
  const bound = Math.ceil(figures.peakPerWindow / LIMIT) + (counted ? 10 + marginCost(figures.peakPerWindow) : 2);
  assert.equal(figures.skipped, 0, 'the open loop never hit its in-flight cap');
  assert.ok(figures.requests >= minRequests, `${figures.requests} requests offered`);
  const ok = figures.clientStatuses['200'] ?? 0;
  if (counted) assert.ok(figures.requests - ok <= figures.requests * 0.005, `client statuses ${JSON.stringify(figures.clientStatuses)}`);
  else assert.deepEqual(Object.keys(figures.clientStatuses), ['200'], `client statuses ${JSON.stringify(figures.clientStatuses)}`);
  assert.equal(figures.clientStatuses['401'] ?? 0, 0, 'no client ever sees a 401 from the pool');
  const allowed429 = counted ? figures.upstreamRequests * 0.01 : 0;
  assert.ok(figures.upstream429 <= allowed429, `${figures.upstream429} upstream 429s of ${figures.upstreamRequests}`);
  for (const size of figures.finalPoolSizes) assert.ok(size <= bound, `pool of ${size} over the bound ${bound}`);
  assert.ok(figures.tokenRequests <= bound, `${figures.tokenRequests} token requests for a pool bounded by ${bound}`);
  assert.ok(figures.finalPoolSizes.every((size) => size === figures.finalPoolSizes[0]), 'every instance uses the same slots');
}

test('no budget headers: two sidecars on one redis-server at 200 requests/s for over a window share the count of every token', async (t) => {
  const [node] = await startRedisNodes(1);
  const figures = await runPoolScenario(PER_TOKEN, [], sidecarsOn(2, { ...COUNTED, REDIS_URL: node!.url }), ramp(RATE, RAMP_MS), DURATION_MS);
  t.diagnostic(JSON.stringify(figures));
  assertServedWithinBound(figures, (RATE * DURATION_MS) / 1000 - RATE, true);
});

test('no budget headers: one sidecar with WORKERS=2 counts through its primary as two instances would through Redis', async (t) => {
  const figures = await runPoolScenario(PER_TOKEN, [], sidecarsOn(1, { ...COUNTED, WORKERS: '2' }), ramp(RATE, RAMP_MS), DURATION_MS);
  t.diagnostic(JSON.stringify(figures));
  assertServedWithinBound(figures, (RATE * DURATION_MS) / 1000 - RATE, true);
});

test('no budget headers: three sidecars on three redis-servers through a 5x step in the load', async (t) => {
  const nodes = await startRedisNodes(3);
  const redis = nodes.map((node) => node.url).join(',');
  // 40 requests/s for 5 s, then 200: the pool must grow fivefold without a client seeing a 429.
  const step = (ms: number) => (ms < 5_000 ? 40 : RATE);
  const figures = await runPoolScenario(PER_TOKEN, [], sidecarsOn(3, { ...COUNTED, REDIS_URL: redis }), step, 17_000);
  t.diagnostic(JSON.stringify(figures));
  assertServedWithinBound(figures, 40 * 5 + RATE * 11, true);
});

test('budget headers where an upstream sends them (Genesys before 2021) win over the count: no RATE_LIMIT_PER_TOKEN needed', async (t) => {
  const [node] = await startRedisNodes(1);
  const figures = await runPoolScenario(PER_TOKEN, ['--budget-headers', 'inin'], sidecarsOn(2, { REDIS_URL: node!.url, UPSTREAM_CONNECTIONS: '128' }), ramp(RATE, RAMP_MS), DURATION_MS);
  t.diagnostic(JSON.stringify(figures));
  assertServedWithinBound(figures, (RATE * DURATION_MS) / 1000 - RATE, false);
});
