import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LocalRefreshLock } from '../../src/lock/local.js';

function lockWithClock() {
  let time = 1_000_000;
  const lock = new LocalRefreshLock({ now: () => time });
  return { lock, advance: (ms: number) => (time += ms) };
}

describe('LocalRefreshLock', () => {
  it('lets one caller hold a key and answers null to the next without waiting', async () => {
    const { lock } = lockWithClock();
    assert.ok(await lock.tryAcquire('key', 1_000));
    assert.equal(await lock.tryAcquire('key', 1_000), null);
  });

  it('locks different keys independently', async () => {
    const { lock } = lockWithClock();
    assert.ok(await lock.tryAcquire('a', 1_000));
    assert.ok(await lock.tryAcquire('b', 1_000));
  });

  it('frees the key on release', async () => {
    const { lock } = lockWithClock();
    const held = await lock.tryAcquire('key', 1_000);
    await held!.release();
    assert.ok(await lock.tryAcquire('key', 1_000));
  });

  it('frees the key when the TTL has passed without a release', async () => {
    const { lock, advance } = lockWithClock();
    await lock.tryAcquire('key', 1_000);
    advance(999);
    assert.equal(await lock.tryAcquire('key', 1_000), null);
    advance(1);
    assert.ok(await lock.tryAcquire('key', 1_000));
  });

  it('does not free the next holder when an expired holder releases late', async () => {
    const { lock, advance } = lockWithClock();
    const expired = await lock.tryAcquire('key', 1_000);
    advance(1_000);
    const current = await lock.tryAcquire('key', 1_000);
    assert.ok(current);
    await expired!.release();
    assert.equal(await lock.tryAcquire('key', 1_000), null);
  });

  it('lets a release be repeated without throwing', async () => {
    const { lock } = lockWithClock();
    const held = await lock.tryAcquire('key', 1_000);
    await held!.release();
    await held!.release();
  });
});
