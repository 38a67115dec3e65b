import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LocalRefreshLock } from '../../src/lock/local.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { lockContract } from './contract.js';

// One process has one local lock: every "instance" of the fixture is that same lock.
lockContract('LocalRefreshLock', async (clock) => {
  const lock = new LocalRefreshLock({ now: () => clock.now() });
  return { open: async () => lock, lapse: (_key, ttlMs) => clock.advance(ttlMs), close: () => lock.close() };
});

describe('LocalRefreshLock', () => {
  it('holds the key until exactly its TTL has passed, by the injected clock', async () => {
    const clock = new FakeClock();
    const lock = new LocalRefreshLock({ now: () => clock.now() });
    await lock.tryAcquire('key', 1_000);
    await clock.advance(999);
    assert.equal(await lock.tryAcquire('key', 1_000), null);
    await clock.advance(1);
    assert.ok(await lock.tryAcquire('key', 1_000));
  });
});
