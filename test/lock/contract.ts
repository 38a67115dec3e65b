/**
 * The RefreshLock contract, run against every implementation (local, IPC, Redlock on 1 and 3
 * nodes). Time: `lapse()` lets a hold's TTL pass, by moving the clock the lock runs on, or (Redis,
 * whose TTLs run on the server's own clock) by waiting until the server has dropped the hold.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RefreshLock } from '../../src/lock/lock.js';
import { FakeClock } from '../helpers/fake-clock.js';

export interface LockFixture {
  /** A lock instance. Instances opened from one fixture share their holds, as sidecars sharing Redis do. */
  open(): Promise<RefreshLock>;
  /** Resolves once a hold of `key` taken with `ttlMs` has lapsed. */
  lapse(key: string, ttlMs: number): Promise<void>;
  /** Closes every instance opened. */
  close(): Promise<void>;
}

export type MakeLockFixture = (clock: FakeClock) => Promise<LockFixture>;

/** Short enough for a real Redis TTL to pass quickly, long enough for a round trip under load. */
const SHORT_TTL_MS = 300;
const LONG_TTL_MS = 10_000;

/** `keyPrefix`: what every key starts with (an ACL test limits the user to `<prefix>:*`). */
export function lockContract(name: string, makeFixture: MakeLockFixture, keyPrefix = 'lock-contract'): void {
  describe(`${name} honours the RefreshLock contract`, () => {
    let fixture: LockFixture;
    let sidecarA: RefreshLock;
    let sidecarB: RefreshLock;
    let key: string;
    let keyCount = 0;

    beforeEach(async () => {
      fixture = await makeFixture(new FakeClock());
      [sidecarA, sidecarB] = [await fixture.open(), await fixture.open()];
      // A fresh key per test: Redis holds outlive a lock instance.
      key = `${keyPrefix}:{${process.pid}-${Date.now()}-${keyCount++}}`;
    });

    afterEach(() => fixture.close());

    it('lets one instance hold a key and answers null to another without waiting', async () => {
      assert.ok(await sidecarA.tryAcquire(key, LONG_TTL_MS));
      assert.equal(await sidecarB.tryAcquire(key, LONG_TTL_MS), null);
    });

    it('answers null to the holder itself while it holds the key', async () => {
      assert.ok(await sidecarA.tryAcquire(key, LONG_TTL_MS));
      assert.equal(await sidecarA.tryAcquire(key, LONG_TTL_MS), null);
    });

    it('locks different keys independently', async () => {
      assert.ok(await sidecarA.tryAcquire(`${key}-a`, LONG_TTL_MS));
      assert.ok(await sidecarB.tryAcquire(`${key}-b`, LONG_TTL_MS));
    });

    it('frees the key for another instance on release', async () => {
      const held = await sidecarA.tryAcquire(key, LONG_TTL_MS);
      await held!.release();
      assert.ok(await sidecarB.tryAcquire(key, LONG_TTL_MS));
    });

    it('frees the key when the TTL has passed without a release', async () => {
      assert.ok(await sidecarA.tryAcquire(key, SHORT_TTL_MS));
      await fixture.lapse(key, SHORT_TTL_MS);
      assert.ok(await sidecarB.tryAcquire(key, LONG_TTL_MS));
    });

    it('does not free the next holder when an expired holder releases late', async () => {
      const expired = await sidecarA.tryAcquire(key, SHORT_TTL_MS);
      await fixture.lapse(key, SHORT_TTL_MS);
      assert.ok(await sidecarB.tryAcquire(key, LONG_TTL_MS));
      await expired!.release();
      assert.equal(await sidecarA.tryAcquire(key, LONG_TTL_MS), null);
    });

    it('lets a release be repeated without throwing', async () => {
      const held = await sidecarA.tryAcquire(key, LONG_TTL_MS);
      await held!.release();
      await held!.release();
    });
  });
}
