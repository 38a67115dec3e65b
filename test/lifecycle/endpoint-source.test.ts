import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import type { ProfileConfig } from '../../src/config/types.js';
import { EndpointTokenSource } from '../../src/lifecycle/endpoint-source.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { buildMockUpstream } from '../../src/mock/app.js';
import type { MockOptions } from '../../src/mock/options.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import { systemClock, type Clock, type TimerHandle } from '../../src/token/clock.js';
import { TokenEndpointError } from '../../src/token/endpoint.js';
import { createGrant } from '../../src/token/grants/index.js';
import { testConfig } from '../helpers/in-process.js';
import { quietLog, sample } from './rig.js';

// EndpointTokenSource against the mock's real token endpoint on a local port. Its retries sleep on
// the system clock, unless a test gives it a SleepOnlyClock: the budget bounds them, and no
// assertion is about time.

const KEY = 'endpoint-test:{k}:default:0';

/**
 * A clock on which time passes only while the source sleeps between attempts, and a sleep ends at
 * once: the budget is spent by the backoff alone, however long this machine takes to answer. Whole
 * milliseconds, as Date.now() moves after a real timer.
 */
class SleepOnlyClock implements Clock {
  private time = 1_700_000_000_000;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.time += Math.ceil(ms);
    return setImmediate(fn);
  }
  clearTimeout(handle: TimerHandle): void {
    clearImmediate(handle as NodeJS.Immediate);
  }
}

async function endpointSource(
  mock: Partial<MockOptions> = {},
  profile: Partial<ProfileConfig> = {},
  budgetMs = 5_000,
  time: { clock?: Clock; random?: () => number } = {},
) {
  const upstream = buildMockUpstream({ tokenLifetimeSeconds: 60, ...mock });
  const url = await upstream.app.listen({ port: 0, host: '127.0.0.1' });
  after(() => upstream.app.close());
  const config = testConfig(url, {}, profile);
  const store = new MemoryTokenStore();
  const metrics = createMetrics(new Registry(), { defaultMetrics: false });
  const grant = createGrant(config.profiles[0]!, { store, key: KEY });
  const source = new EndpointTokenSource({ profile: config.profiles[0]!, grant, clock: time.clock ?? systemClock, random: time.random, metrics, log: quietLog(), instanceId: 'instance-1', budgetMs });
  return { source, store, metrics, stats: () => upstream.stats().tokenRequests };
}

test('a token gets generation after + 1 and an expiry measured from when it was asked for', async () => {
  const { source, metrics } = await endpointSource();
  const token = await source.token({ after: 4 });
  assert.equal(token.generation, 5);
  assert.equal(token.expiresAt - token.issuedAt, 60_000);
  assert.equal(token.fetchedBy, 'instance-1');
  assert.equal(token.local, undefined);
  assert.equal(await sample(metrics, 'token_sidecar_token_requests_total', { result: 'success' }), 1);
});

test('a server error is retried within the budget, and both calls are counted', async () => {
  const { source, metrics, stats } = await endpointSource({ failTokenEvery: 2 });
  await source.token({ after: 0 });
  const token = await source.token({ after: 1 }); // its first attempt is the mock's 2nd request: 503
  assert.equal(token.generation, 2);
  assert.deepEqual([stats().total, stats().failed], [3, 1]);
  assert.equal(await sample(metrics, 'token_sidecar_token_requests_total', { result: 'server_error' }), 1);
});

test('a rejected grant is not retried', async () => {
  const { source, stats } = await endpointSource({}, { clientSecret: 'wrong-secret' });
  await assert.rejects(source.token({ after: 0 }), (err: unknown) => err instanceof TokenEndpointError && err.kind === 'rejected');
  assert.equal(stats().total, 1);
});

test('retries stop when the budget is spent, with the last endpoint error', async () => {
  // The longest jitter: attempts 0.2, 0.4, 0.8, 1.6 and 3.2 s apart start at 0, 0.2, 0.6, 1.4, 3 and
  // 6.2 s of the 10 s budget; the next wait (5 s, the cap) would end past it. On a clock that the
  // sleeps alone move, the count does not depend on how fast the endpoint answers, and each attempt
  // has at least 3.8 s of real time before its own timeout.
  const { source, stats } = await endpointSource({ failTokenEvery: 1 }, {}, 10_000, { clock: new SleepOnlyClock(), random: () => 0.999 });
  await assert.rejects(source.token({ after: 0 }), (err: unknown) => err instanceof TokenEndpointError && err.kind === 'server_error' && err.status === 503);
  assert.equal(stats().total, 6, 'retried until the next wait would pass the budget');
});

test('refresh_token grant: the rotated refresh token is stored with its generation and presented next time', async () => {
  const { source, store, stats } = await endpointSource({}, { grant: 'refresh_token', refreshToken: 'demo-refresh-token' });
  await source.token({ after: 0 });
  const rotated = await store.getRefreshToken(KEY);
  assert.ok(rotated && rotated !== 'demo-refresh-token', 'the store holds the rotated refresh token');
  assert.equal(await store.putRefreshToken(KEY, 'older', 1), false, 'stored with generation 1');
  await source.token({ after: 1 }); // the seed is spent: only the rotated one is accepted
  assert.equal(stats().failed, 0);
});

test('local: the store is neither read nor written, the last refresh token seen is used', async () => {
  const { source, store, stats } = await endpointSource({}, { grant: 'refresh_token', refreshToken: 'demo-refresh-token' });
  await store.putRefreshToken(KEY, 'not-a-valid-refresh-token', 1);
  const token = await source.token({ after: 0, local: true });
  assert.equal(token.local, true);
  assert.equal(await store.getRefreshToken(KEY), 'not-a-valid-refresh-token');
  assert.equal(stats().failed, 0);
});
