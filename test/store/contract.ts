/**
 * The TokenStore contract, run against every implementation (memory, IPC, Redis on 1 and 3 nodes).
 * Time is the tests' FakeClock handed to the store: expiry is tested by moving it, not by sleeping.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { eventsChannelOfKey, haltKey, poolKey, profileEventsChannel, profileTag, rateKey, requestCountKey, tokenKey } from '../../src/store/key.js';
import type { PoolSizeStore, StoreEvent, TokenStore } from '../../src/store/store.js';
import { waitFor } from '../../src/harness/wait-for.js';
import type { Token } from '../../src/token/token.js';
import { FakeClock } from '../helpers/fake-clock.js';

export interface StoreFixture {
  /** A store instance. Instances opened from one fixture share their data, as sidecars sharing Redis do. */
  open(): Promise<TokenStore & PoolSizeStore>;
  /** Closes every instance opened and removes their data. */
  close(): Promise<void>;
}

export type MakeFixture = (clock: FakeClock) => Promise<StoreFixture>;

const LIFETIME_MS = 60_000;

/** `keyPrefix`: what every key starts with (an ACL test limits the user to `<prefix>:*`). */
export function storeContract(name: string, makeFixture: MakeFixture, keyPrefix = 'contract'): void {
  describe(`${name} honours the TokenStore contract`, () => {
    let clock: FakeClock;
    let fixture: StoreFixture;
    let store: TokenStore & PoolSizeStore;
    let key: string;
    let pool: string;
    let keyCount = 0;

    function token(generation: number, lifetimeMs = LIFETIME_MS): Token {
      const issuedAt = clock.now();
      return { accessToken: `access-${generation}`, issuedAt, expiresAt: issuedAt + lifetimeMs, generation, fetchedBy: 'test' };
    }

    beforeEach(async () => {
      clock = new FakeClock(Date.now());
      fixture = await makeFixture(clock);
      store = await fixture.open();
      // A fresh key per test: Redis data outlives a store instance.
      key = tokenKey(keyPrefix, { tokenUrl: 'https://login.example/oauth/token', clientId: 'client', profile: 'default', slot: keyCount });
      pool = poolKey(keyPrefix, { tokenUrl: 'https://login.example/oauth/token', clientId: 'client', profile: `p${keyCount++}` });
    });

    afterEach(() => fixture.close());

    it('returns null for a key that was never written', async () => {
      assert.equal(await store.get(key), null);
    });

    it('stores a token whose generation is newer than the stored one', async () => {
      assert.equal(await store.putIfNewer(key, token(1)), true);
      assert.equal(await store.putIfNewer(key, token(2)), true);
      assert.deepEqual(await store.get(key), token(2));
    });

    it('rejects a token whose generation is older than or equal to the stored one', async () => {
      await store.putIfNewer(key, token(5));
      assert.equal(await store.putIfNewer(key, token(4)), false);
      assert.equal(await store.putIfNewer(key, { ...token(5), accessToken: 'other' }), false);
      assert.equal((await store.get(key))?.accessToken, 'access-5');
    });

    it('rejects a stalled writer after the newer token was invalidated', async () => {
      const stalled = await store.nextGeneration(key);
      const newer = await store.nextGeneration(key);
      await store.putIfNewer(key, token(newer));
      await store.invalidate(key, newer);
      assert.equal(await store.putIfNewer(key, token(stalled)), false);
      assert.equal(await store.get(key), null);
    });

    it('rejects a stalled writer after the newer token expired', async () => {
      const stalled = await store.nextGeneration(key);
      const newer = await store.nextGeneration(key);
      await store.putIfNewer(key, token(newer, 1_000));
      await clock.advance(1_001);
      assert.equal(await store.get(key), null);
      assert.equal(await store.putIfNewer(key, token(stalled)), false);
      assert.equal(await store.get(key), null);
    });

    it('reads a token as absent once its expiry has passed', async () => {
      await store.putIfNewer(key, token(1, 1_000));
      await clock.advance(999);
      assert.equal((await store.get(key))?.generation, 1);
      await clock.advance(1);
      assert.equal(await store.get(key), null);
    });

    it('invalidates only the generation it is given', async () => {
      await store.putIfNewer(key, token(3));
      assert.equal(await store.invalidate(key, 2), false);
      assert.equal((await store.get(key))?.generation, 3);
      assert.equal(await store.invalidate(key, 3), true);
      assert.equal(await store.get(key), null);
      assert.equal(await store.invalidate(key, 3), false);
    });

    it('hands out strictly increasing generations', async () => {
      const first = await store.nextGeneration(key);
      const second = await store.nextGeneration(key);
      assert.ok(second > first, `${second} > ${first}`);
    });

    it('hands out generations above any generation stored before', async () => {
      await store.putIfNewer(key, token(100));
      assert.ok((await store.nextGeneration(key)) > 100);
    });

    it('hands out distinct generations to 50 concurrent callers', async () => {
      const generations = await Promise.all(Array.from({ length: 50 }, () => store.nextGeneration(key)));
      assert.equal(new Set(generations).size, 50);
    });

    it('keeps generations of different keys apart', async () => {
      const otherKey = `${key}-other`;
      await store.putIfNewer(key, token(7));
      assert.equal(await store.putIfNewer(otherKey, token(1)), true);
      assert.equal((await store.get(key))?.generation, 7);
    });

    it('tells every instance about a stored token and an invalidation, once each', async () => {
      const other = await fixture.open();
      const events: StoreEvent[] = [];
      await other.subscribe((event) => events.push(event));
      await store.putIfNewer(key, token(1));
      await store.putIfNewer(key, token(1)); // rejected: announces nothing
      await store.invalidate(key, 1);
      await store.putIfNewer(key, token(2)); // the last event, so the ones before have arrived
      await until(() => events.length >= 3);
      assert.deepEqual(events, [
        { type: 'stored', key, token: token(1) },
        { type: 'invalidated', key, generation: 1 },
        { type: 'stored', key, token: token(2) },
      ]);
    });

    it('stops telling a listener once it unsubscribed', async () => {
      const heard: number[] = [];
      const stillListening: number[] = [];
      const unsubscribe = await store.subscribe(() => heard.push(1));
      await store.subscribe(() => stillListening.push(1));
      await unsubscribe();
      await store.putIfNewer(key, token(1));
      await until(() => stillListening.length === 1);
      assert.equal(heard.length, 0);
    });

    it('keeps the refresh token of the newest generation', async () => {
      assert.equal(await store.getRefreshToken(key), null);
      assert.equal(await store.putRefreshToken(key, 'refresh-2', 2), true);
      assert.equal(await store.putRefreshToken(key, 'refresh-1', 1), false);
      assert.equal(await store.putRefreshToken(key, 'refresh-2b', 2), false);
      assert.equal(await store.getRefreshToken(key), 'refresh-2');
    });

    it('keeps the refresh token when the access token is invalidated or expires', async () => {
      await store.putIfNewer(key, token(1, 1_000));
      await store.putRefreshToken(key, 'refresh-1', 1);
      await store.invalidate(key, 1);
      await clock.advance(2_000);
      assert.equal(await store.getRefreshToken(key), 'refresh-1');
    });

    it('has no pool size for a profile whose size was never set', async () => {
      assert.equal(await store.getPoolSize(pool), null);
    });

    it('sets a pool size against the epoch read, one epoch further each time', async () => {
      assert.equal(await store.setPoolSize(pool, 0, 3, 1_000), true);
      assert.deepEqual(await store.getPoolSize(pool), { size: 3, epoch: 1, updatedAt: 1_000 });
      assert.equal(await store.setPoolSize(pool, 1, 8, 2_000), true);
      assert.deepEqual(await store.getPoolSize(pool), { size: 8, epoch: 2, updatedAt: 2_000 });
    });

    it('refuses a pool size set against an epoch that has been passed, keeping the newer size', async () => {
      await store.setPoolSize(pool, 0, 4, 1_000);
      await store.setPoolSize(pool, 1, 6, 2_000);
      assert.equal(await store.setPoolSize(pool, 1, 2, 3_000), false, 'a shrink decided before the growth');
      assert.equal(await store.setPoolSize(pool, 0, 9, 3_000), false);
      assert.deepEqual(await store.getPoolSize(pool), { size: 6, epoch: 2, updatedAt: 2_000 });
    });

    it('lands at most one of 20 instances growing the pool at once from the same epoch, and they agree after', async () => {
      const instances = await Promise.all(Array.from({ length: 4 }, () => fixture.open()));
      await store.setPoolSize(pool, 0, 1, 0);
      const sizes = Array.from({ length: 20 }, (_, i) => 10 + i);
      const landed = await Promise.all(sizes.map((size, i) => instances[i % instances.length]!.setPoolSize(pool, 1, size, 5_000)));
      assert.ok(landed.filter(Boolean).length <= 1, `landed: ${landed.join(', ')}`);
      const seen = await Promise.all(instances.map((instance) => instance.getPoolSize(pool)));
      const [first] = seen;
      assert.equal(first?.epoch, 2);
      assert.ok(sizes.includes(first.size), `size ${first.size}`);
      if (landed.includes(true)) assert.equal(first.size, sizes[landed.indexOf(true)]);
      for (const record of seen) assert.deepEqual(record, first, 'every instance reads the same record');
      // Whoever sets next, against what it read, lands everywhere.
      assert.equal(await instances[3]!.setPoolSize(pool, first.epoch, 40, 6_000), true);
      assert.deepEqual(await store.getPoolSize(pool), { size: 40, epoch: 3, updatedAt: 6_000 });
    });

    it('keeps pool sizes of different profiles apart, and apart from their tokens', async () => {
      const other = poolKey(keyPrefix, { tokenUrl: 'https://login.example/oauth/token', clientId: 'client', profile: `${pool}-other` });
      await store.setPoolSize(pool, 0, 5, 1);
      assert.equal(await store.getPoolSize(other), null);
      assert.equal(await store.get(key), null);
    });

    it('refuses a pool size that no pool can have', async () => {
      await assert.rejects(store.setPoolSize(pool, 0, 0, 1), RangeError);
      await assert.rejects(store.setPoolSize(pool, 0, 1.5, 1), RangeError);
      await assert.rejects(store.setPoolSize(pool, -1, 2, 1), RangeError);
      assert.equal(await store.getPoolSize(pool), null);
    });

    it('keeps why growth stopped with the pool size, for every instance to read', async () => {
      assert.equal(await store.setPoolSize(pool, 0, 4, 1_000), true);
      assert.equal(await store.setPoolSize(pool, 1, 1, 2_000, 'stopped: revokes'), true);
      assert.deepEqual(await store.getPoolSize(pool), { size: 1, epoch: 2, updatedAt: 2_000, stopped: 'stopped: revokes' });
    });

    it('adds the fleet\'s request counts per slot and answers each slot\'s count over the window', async () => {
      const rates = rateKey(keyPrefix, { tokenUrl: 'https://login.example/oauth/token', clientId: 'client', profile: `r${keyCount}` });
      const first = store;
      const second = await fixture.open();
      const add = (instance: TokenStore, bucket: number, deltas: number[], names = ['0.1', '1.1', '2.1']) =>
        instance.addRateCounts(rates, bucket, 10, 60, deltas.map((delta, i) => ({ name: names[i]!, delta })));
      assert.deepEqual(await add(first, 1_000, [3, 0, 1]), [3, 0, 1]);
      // Another instance, a bucket later: its counts add to the first's.
      assert.deepEqual(await add(second, 1_001, [2, 5]), [5, 5]);
      // Asking without adding reads the window; counter 2 is still counted.
      assert.deepEqual(await add(first, 1_005, [0, 0, 0]), [5, 5, 1]);
      // The window spans the current bucket and the 10 before it: bucket 1000 leaves at 1011.
      assert.deepEqual(await add(first, 1_010, [0, 0, 0]), [5, 5, 1]);
      assert.deepEqual(await add(first, 1_011, [1, 0, 0]), [3, 5, 0]);
      assert.deepEqual(await add(first, 1_012, [0, 0, 0]), [1, 0, 0]);
      // A new token of slot 0 (generation 2) starts from nothing.
      assert.deepEqual(await add(first, 1_012, [4], ['0.2']), [4]);
      const other = rateKey(keyPrefix, { tokenUrl: 'https://login.example/oauth/token', clientId: 'other', profile: `r${keyCount}` });
      assert.deepEqual(await first.addRateCounts(other, 1_012, 10, 60, [{ name: '0.1', delta: 0 }]), [0]);
    });

    // ---- the run's brakes: MAX_REQUESTS blocks and the fleet's halt record ----

    it('grants request blocks that shrink towards the cap and never pass it', async () => {
      const count = requestCountKey(`${keyPrefix}:run${keyCount}`);
      assert.deepEqual(await store.reserveRequests(count, 1_000, 100), { granted: 100, used: 100 });
      // 900 left: a quarter of them (225) is more than the block, so the block.
      assert.deepEqual(await store.reserveRequests(count, 1_000, 100), { granted: 100, used: 200 });
      let used = 200;
      const grants: number[] = [];
      for (;;) {
        const { granted, used: after } = await store.reserveRequests(count, 1_000, 100);
        if (granted === 0) {
          assert.equal(after, 1_000);
          break;
        }
        grants.push(granted);
        used += granted;
        assert.equal(after, used);
      }
      assert.equal(used, 1_000);
      // 300 left: a quarter (75) is below the block; from there each grant is a quarter of what is left, down to 1.
      assert.equal(grants[5], 75, `grants: ${grants.join(', ')}`);
      assert.equal(grants.at(-1), 1);
      for (let i = 1; i < grants.length; i++) assert.ok(grants[i]! <= grants[i - 1]!, `grants shrink: ${grants.join(', ')}`);
      assert.deepEqual(await store.reserveRequests(count, 1_000, 100), { granted: 0, used: 1_000 });
    });

    it('never grants more than the cap to 40 reservations from 4 instances at once', async () => {
      const count = requestCountKey(`${keyPrefix}:run${keyCount}`);
      const instances = await Promise.all(Array.from({ length: 4 }, () => fixture.open()));
      const reservations = await Promise.all(Array.from({ length: 40 }, (_, i) => instances[i % 4]!.reserveRequests(count, 500, 100)));
      const granted = reservations.reduce((sum, r) => sum + r.granted, 0);
      assert.equal(granted, 500, `granted ${reservations.map((r) => r.granted).join(', ')}`);
      assert.equal((await store.reserveRequests(count, 500, 100)).granted, 0);
    });

    it('starts a new count when reset, and keeps counts of other prefixes apart', async () => {
      const count = requestCountKey(`${keyPrefix}:run${keyCount}`);
      const other = requestCountKey(`${keyPrefix}:run${keyCount}-other`);
      while ((await store.reserveRequests(count, 10, 10)).granted > 0);
      assert.equal((await store.reserveRequests(count, 10, 10)).used, 10);
      assert.equal((await store.reserveRequests(other, 10, 3)).granted, 3);
      await store.resetRequests(count);
      assert.deepEqual(await store.reserveRequests(count, 10, 4), { granted: 3, used: 3 });
    });

    it('refuses a cap or block no reservation can have', async () => {
      const count = requestCountKey(`${keyPrefix}:run${keyCount}`);
      await assert.rejects(store.reserveRequests(count, 0, 10), RangeError);
      await assert.rejects(store.reserveRequests(count, 10, 0), RangeError);
      await assert.rejects(store.reserveRequests(count, 10, 1.5), RangeError);
    });

    it('tells every instance the halt record last set', async () => {
      const halt = haltKey(`${keyPrefix}:run${keyCount}`);
      const other = await fixture.open();
      assert.equal(await other.getHalt(halt), null);
      await store.setHalt(halt, { halted: true, at: 1_000 });
      assert.deepEqual(await other.getHalt(halt), { halted: true, at: 1_000 });
      await other.setHalt(halt, { halted: false, at: 2_000 });
      assert.deepEqual(await store.getHalt(halt), { halted: false, at: 2_000 });
      assert.equal(await store.getHalt(haltKey(`${keyPrefix}:run${keyCount}-other`)), null);
    });

    it('is given run keys apart from every token and pool key of the prefix', () => {
      assert.equal(requestCountKey('prefix'), 'prefix:{run}:requests');
      assert.equal(haltKey('prefix'), 'prefix:{run}:halt');
    });

    it('is given pool keys that name neither the client id nor the token URL', () => {
      const built = poolKey('prefix', { tokenUrl: 'https://login.example/oauth/token', clientId: 'b7c3a9e2-client-id', profile: 'default' });
      assert.match(built, /^prefix:\{[0-9a-f]{16}:default\}:pool$/);
      assert.ok(!built.includes('b7c3a9e2-client-id') && !built.includes('login.example'), built);
    });

    it('is given keys that name neither the client id nor the token URL', () => {
      // The secret is not even an input of tokenKey(); the client id and URL go in hashed.
      const clientId = 'b7c3a9e2-client-id';
      const tokenUrl = 'https://login.example/oauth/token';
      const built = tokenKey('prefix', { tokenUrl, clientId, profile: 'default', slot: 0 });
      assert.match(built, /^prefix:\{[0-9a-f]{16}:default\}:0$/);
      assert.ok(!built.includes(clientId) && !built.includes(tokenUrl), built);
    });

    it('is given keys that share one hash tag per profile (one Redis Cluster slot), and only that profile\'s', () => {
      const id = { tokenUrl: 'https://login.example/oauth/token', clientId: 'client', profile: 'default' };
      const tag = profileTag(id);
      const keys = [tokenKey('prefix', { ...id, slot: 0 }), tokenKey('prefix', { ...id, slot: 7 }), poolKey('prefix', id), profileEventsChannel('prefix', id)];
      for (const built of keys) assert.equal(/\{[^}]*\}/.exec(built)?.[0], tag, built);
      assert.equal(eventsChannelOfKey(keys[0]!), profileEventsChannel('prefix', id));
      assert.notEqual(profileTag({ ...id, profile: 'other' }), tag);
    });
  });
}

/**
 * Resolves once `condition` holds; events travel asynchronously (pub/sub, microtasks). The timeout
 * only ends a wait that would hang: on a starved machine a pub/sub round trip is not milliseconds.
 */
export function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  return waitFor(condition, { timeoutMs, intervalMs: 5, what: 'store condition' });
}
