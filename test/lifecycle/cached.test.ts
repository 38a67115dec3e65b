import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SidecarError } from '../../src/errors.js';
import { TokenEndpointError } from '../../src/token/endpoint.js';
import { settle } from '../helpers/fake-clock.js';
import { fleet, gate, KEY, LIFETIME_MS, sample } from './rig.js';

// RefreshAheadCache over a real coordinated source, memory store and local lock, on one fake clock.
// Tokens live LIFETIME_MS (100 s): refresh due at 80 s (REFRESH_AT 0.8, jitter 0), safety margin 10 s.

async function oneInstance() {
  const f = fleet();
  after(() => f.stop());
  return { f, clock: f.clock, ...(await f.instance('a')) };
}

const serverError = () => new TokenEndpointError('server_error', 'token endpoint answered HTTP 503', 503);

test('a burst of concurrent first requests costs one call to the source', async () => {
  const { cache, endpoint } = await oneInstance();
  const tokens = await Promise.all(Array.from({ length: 100 }, () => cache.token({ after: 0 })));
  assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
  assert.equal(endpoint.calls, 1);
});

test('the token is refreshed in the background once REFRESH_AT of its lifetime has passed, with no gap', async () => {
  const { cache, endpoint, clock } = await oneInstance();
  cache.start();
  const first = await cache.token({ after: 0 });
  await clock.advance(79_000);
  assert.equal(endpoint.calls, 1, 'no refresh before 80% of the lifetime');
  for (let t = 79_000; t < 86_000; t += 250) {
    assert.ok(cache.current(), `a valid token is held at ${t} ms`);
    await clock.advance(250);
  }
  assert.equal(endpoint.calls, 2);
  assert.ok(cache.current()!.generation > first.generation);
});

test('a token is never handed out within its safety margin of expiry, even when refreshing fails', async () => {
  const { cache, endpoint, clock } = await oneInstance();
  cache.start();
  await cache.token({ after: 0 });
  endpoint.failing = serverError();
  await clock.advance(LIFETIME_MS * 0.9 - 1);
  assert.ok(cache.current(), 'still valid just before 90 s (expires at 100 s, margin 10 s)');
  await clock.advance(1);
  assert.equal(cache.current(), undefined, 'not handed out from 90 s on');
  await assert.rejects(cache.token({ after: 0 }), (err: unknown) => err instanceof SidecarError && err.status === 503);
});

test('after a failed refresh, callers get a 503 at once until the backoff elapses, then it recovers', async () => {
  const { cache, endpoint, clock } = await oneInstance();
  endpoint.failing = serverError();
  cache.start();
  await settle();
  assert.ok(cache.state.lastError, 'the first fetch failed');
  const calls = endpoint.calls;
  for (let i = 0; i < 20; i++) {
    await assert.rejects(cache.token({ after: 0 }), (err: unknown) => err instanceof SidecarError && err.status === 503 && (err.retryAfterSeconds ?? 0) >= 1);
  }
  assert.equal(endpoint.calls, calls, 'callers during the backoff do not call the source');
  endpoint.failing = undefined;
  await clock.advance(60_000);
  assert.ok(cache.current(), 'the scheduled retry fetched a token');
});

test("a Retry-After from the token endpoint is honoured before the next attempt", async () => {
  const { cache, endpoint, clock } = await oneInstance();
  endpoint.steps.push({ fail: new TokenEndpointError('rate_limited', 'token endpoint answered HTTP 429', 429, undefined, undefined, 30_000) });
  cache.start();
  await settle();
  assert.ok(cache.state.nextRetryAt - clock.now() >= 30_000, `retry planned ${cache.state.nextRetryAt - clock.now()} ms ahead`);
  await clock.advance(29_000);
  assert.equal(endpoint.calls, 1, 'no attempt before Retry-After');
  await clock.advance(1_500);
  assert.equal(endpoint.calls, 2);
  assert.ok(cache.current());
});

test('a 401 on a token that is no longer current causes no refresh', async () => {
  const { cache, endpoint } = await oneInstance();
  const old = await cache.token({ after: 0 });
  const current = await cache.forceRefresh();
  assert.equal(endpoint.calls, 2);
  assert.deepEqual(await cache.onUnauthorized(old), current);
  assert.equal(endpoint.calls, 2);
});

test('many concurrent 401s on the current token cause one refresh, and all get the same new token', async () => {
  const { cache, endpoint, metrics } = await oneInstance();
  const sent = await cache.token({ after: 0 });
  const replacements = await Promise.all(Array.from({ length: 25 }, () => cache.onUnauthorized(sent)));
  assert.equal(new Set(replacements.map((t) => t.generation)).size, 1);
  assert.ok(replacements[0]!.generation > sent.generation);
  assert.equal(endpoint.calls, 2);
  assert.equal(await sample(metrics, 'token_sidecar_token_invalidations_total', { reason: 'upstream_401' }), 1);
});

test('a token published by another instance is adopted without calling the source', async () => {
  const f = fleet();
  after(() => f.stop());
  const [a, b] = [await f.instance('a'), await f.instance('b')];
  await a.cache.token({ after: 0 });
  b.cache.start(); // finds a's token in the store
  await settle();
  const published = await a.cache.forceRefresh();
  await settle();
  assert.deepEqual(b.cache.current(), published);
  assert.equal(b.endpoint.calls, 0);
});

test('a token rejected at another instance is dropped here and replaced by one fleet-wide refresh', async () => {
  const f = fleet();
  after(() => f.stop());
  const [a, b] = [await f.instance('a'), await f.instance('b')];
  const sent = await a.cache.token({ after: 0 });
  b.cache.start();
  await settle();
  assert.deepEqual(b.cache.current(), sent, 'b holds the same token');
  // Whichever instance wins the lock for the replacement, its fetch waits until the test releases it.
  const slow = gate();
  a.endpoint.steps.push({ hang: slow.promise });
  b.endpoint.steps.push({ hang: slow.promise });
  const replacing = a.cache.onUnauthorized(sent);
  await settle();
  assert.equal(b.cache.current(), undefined, 'b stopped sending the rejected token before any replacement exists');
  slow.release();
  const replacement = await replacing;
  assert.equal(await f.store.get(KEY).then((t) => t?.generation), replacement.generation);
  await f.clock.advance(1_000);
  assert.equal(b.cache.current()?.generation, replacement.generation, 'b holds the replacement');
  assert.equal(a.endpoint.calls + b.endpoint.calls, 2, 'one fetch for the first token, one for its replacement');
});

test('a cache shared by two slots keeps refreshing until the second of them stops it', async () => {
  // A group profile's slot and its member's own slot run on one cache (compose.ts).
  const { cache, endpoint, clock } = await oneInstance();
  cache.start();
  cache.start();
  await settle();
  assert.equal(endpoint.calls, 1, 'a second start fetches nothing');
  cache.stop();
  await clock.advance(81_000);
  assert.equal(endpoint.calls, 2, 'still refreshed ahead of expiry after one of two stops');
  cache.stop();
  await clock.advance(100_000);
  assert.equal(endpoint.calls, 2, 'no refresh after the last stop');
  assert.equal(cache.current(), undefined);
});
