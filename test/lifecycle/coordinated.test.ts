import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { RedlockRefreshLock } from '../../src/lock/redlock.js';
import { RedisTokenStore } from '../../src/store/redis.js';
import { freePort } from '../../src/harness/child-processes.js';
import { waitFor } from '../../src/harness/wait-for.js';
import type { Token } from '../../src/token/token.js';
import { settle } from '../helpers/fake-clock.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';
import { fleet, gate, KEY, LOCK_TTL_MS, sample } from './rig.js';

// The fleet-wide protocol of CoordinatedTokenSource: instances share a real memory store and local
// lock, and one fake clock drives lock TTLs, polling and expiry together.

test('a loser of the refresh lock does not fetch: it gets the holder\'s token when it is published', async () => {
  const f = fleet();
  after(() => f.stop());
  const [a, b] = [await f.instance('a'), await f.instance('b')];
  const slow = gate();
  a.endpoint.steps.push({ hang: slow.promise });
  const fromA = a.shared.token({ after: 0 });
  await settle();
  const fromB = b.shared.token({ after: 0 });
  await f.clock.advance(2_000);
  assert.equal(b.endpoint.calls, 0, 'the loser waits instead of calling the endpoint');
  slow.release();
  const [tokenA, tokenB] = await Promise.all([fromA, fromB]);
  assert.equal(tokenB.accessToken, tokenA.accessToken);
  assert.equal(b.endpoint.calls, 0);
  assert.equal(await sample(b.metrics, 'token_sidecar_lock_acquisitions_total', { result: 'contended' }), 1);
  assert.equal(await sample(a.metrics, 'token_sidecar_lock_acquisitions_total', { result: 'acquired' }), 1);
});

/** A holds the lock and its fetch never returns (until the test says so); B asks meanwhile. */
async function vanishedHolder() {
  const f = fleet();
  after(() => f.stop());
  const [a, b] = [await f.instance('a'), await f.instance('b')];
  const stalled = gate();
  a.endpoint.steps.push({ hang: stalled.promise });
  const fromA = a.shared.token({ after: 0 });
  await settle();
  let fromB: unknown;
  b.shared.token({ after: 0 }).then((token) => (fromB = token));
  return { f, a, b, stalled, fromA, fromB: () => fromB };
}

test('a holder that vanished is overtaken once its lock TTL has passed', async () => {
  const { f, b, fromB } = await vanishedHolder();
  await f.clock.advance(LOCK_TTL_MS - 500);
  assert.equal(b.endpoint.calls, 0, 'no fetch while the lock is held');
  await f.clock.advance(1_000);
  assert.equal(b.endpoint.calls, 1);
  assert.equal((fromB() as { fetchedBy?: string })?.fetchedBy, 'b');
  assert.equal((await f.store.get(KEY))?.fetchedBy, 'b');
});

test('a holder that lets go without publishing (its fetch failed) is followed within a second, not after its lock TTL', async () => {
  const f = fleet();
  after(() => f.stop());
  const [a, b] = [await f.instance('a'), await f.instance('b')];
  const started = f.clock.now();
  // A's fetch hangs, holding the lock, then fails: A lets go of the lock with nothing published.
  let fail!: (err: Error) => void;
  a.endpoint.steps.push({ hang: new Promise<void>((_resolve, reject) => (fail = reject)) });
  const fromA = a.shared.token({ after: 0 }).catch((err: Error) => err);
  await settle();
  let fromB: Token | undefined;
  void b.shared.token({ after: 0 }).then((token) => (fromB = token));
  await f.clock.advance(300);
  assert.equal(b.endpoint.calls, 0, 'B waits while A holds the lock');
  fail(new Error('token endpoint answered 503'));
  assert.ok((await fromA) instanceof Error);
  await f.clock.advance(1_000);
  await waitFor(() => fromB !== undefined, { what: "B's own token" });
  assert.equal(b.endpoint.calls, 1, 'B fetched once the lock was free');
  assert.ok(f.clock.now() - started < LOCK_TTL_MS, `followed after ${f.clock.now() - started} ms, before the lock's TTL (${LOCK_TTL_MS} ms)`);
  assert.equal((await f.store.get(KEY))?.fetchedBy, 'b', 'and published it');
  assert.equal(await sample(b.metrics, 'token_sidecar_lock_acquisitions_total', { result: 'contended' }), 1, 'one wait, counted once');
});

test('the vanished holder\'s late token does not land: it returns the newer one', async () => {
  const { f, stalled, fromA, fromB } = await vanishedHolder();
  await f.clock.advance(LOCK_TTL_MS + 500);
  const newer = fromB() as { generation: number; accessToken: string };
  assert.ok(newer, 'b has its token');
  stalled.release();
  const late = await fromA;
  assert.equal(late.accessToken, newer.accessToken, 'a hands out the newer token, not its own');
  assert.equal((await f.store.get(KEY))?.accessToken, newer.accessToken, 'the store keeps the newer token');
});

test('with the store down it fetches for this instance only, marks the token local and counts the failure', async () => {
  // A real Redis store and Redlock lock whose node is not there: every call rejects.
  const url = `redis://127.0.0.1:${await freePort()}`;
  const store = new RedisTokenStore({ urls: [url] });
  const lock = new RedlockRefreshLock({ urls: [url] });
  after(() => Promise.all([store.close(), lock.close()]));
  const f = fleet({ store, lock });
  const a = await f.instance('a');
  after(() => f.stop());
  const token = await a.shared.token({ after: 0 });
  assert.equal(token.local, true);
  assert.equal(a.endpoint.calls, 1);
  assert.equal(await sample(a.metrics, 'token_sidecar_lock_acquisitions_total', { result: 'failed' }), 1);
});

test('a fresh stored token newer than asked for is returned without taking the lock', async () => {
  const f = fleet();
  after(() => f.stop());
  const [a, b] = [await f.instance('a'), await f.instance('b')];
  const first = await a.shared.token({ after: 0 });
  assert.deepEqual(await b.shared.token({ after: 0 }), first);
  assert.equal(b.endpoint.calls, 0);
  assert.equal(await sample(b.metrics, 'token_sidecar_lock_acquisitions_total', { result: 'acquired' }), 0);
  const second = await b.shared.token({ after: first.generation });
  assert.ok(second.generation > first.generation, 'asking past the stored generation fetches a newer one');
});

test('a loser whose store stops answering while the holder fetches serves a token of its own instead of waiting out the lock', async () => {
  // A real redis-server as the store, killed while A holds the (in-process) lock and B waits for
  // A's publication: A can no longer publish, so B must not wait a whole lock TTL for it.
  const [node] = await startRedisNodes(1);
  after(() => stopAllRedisNodes());
  const store = new RedisTokenStore({ urls: [node!.url] });
  after(() => store.close());
  const f = fleet({ store });
  after(() => f.stop());
  const [a, b] = [await f.instance('a'), await f.instance('b')];
  const stalled = gate();
  a.endpoint.steps.push({ hang: stalled.promise });
  void a.shared.token({ after: 0 }).catch(() => {});
  await waitFor(() => a.endpoint.calls === 1, { what: 'A fetching while it holds the lock' });
  let fromB: Token | undefined;
  void b.shared.token({ after: 0 }).then((token) => (fromB = token));
  await waitFor(async () => (await sample(b.metrics, 'token_sidecar_lock_acquisitions_total', { result: 'contended' })) === 1, { what: 'B finding the lock held' });
  await f.clock.advance(300);
  await f.clock.advance(300);
  assert.equal(b.endpoint.calls, 0, 'B waits for the holder while the store answers');

  await node!.kill();
  await waitFor(() => !store.available, { what: 'the store noticing its node is gone' });
  await f.clock.advance(300);
  await waitFor(() => fromB !== undefined, { what: "B's own token" });
  assert.equal(b.endpoint.calls, 1);
  assert.equal(fromB!.local, true, 'a token fetched without the store is local to B');
  stalled.release();
});
