import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { RedlockRefreshLock } from '../../src/lock/redlock.js';
import { RedisNode, startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';

after(stopAllRedisNodes);

describe('RedlockRefreshLock on three nodes', () => {
  let nodes: RedisNode[];
  /** Two lock instances with their own connections: two sidecars. */
  let sidecarA: RedlockRefreshLock;
  let sidecarB: RedlockRefreshLock;
  let keyCount = 0;
  let key: string;

  before(async () => {
    nodes = await startRedisNodes(3);
  });

  beforeEach(() => {
    const urls = nodes.map((node) => node.url);
    sidecarA = new RedlockRefreshLock({ urls });
    sidecarB = new RedlockRefreshLock({ urls });
    key = `lock-test:{key-${keyCount++}}`;
  });

  afterEach(async () => {
    await Promise.all([sidecarA.close(), sidecarB.close()]);
    await Promise.all(nodes.filter((node) => !node.running).map((node) => node.restart()));
  });

  it('lets one sidecar hold a key and answers null to another without waiting', async () => {
    assert.ok(await sidecarA.tryAcquire(key, 5_000));
    assert.equal(await sidecarB.tryAcquire(key, 5_000), null);
  });

  it('frees the key for another sidecar on release', async () => {
    const held = await sidecarA.tryAcquire(key, 5_000);
    await held!.release();
    assert.ok(await sidecarB.tryAcquire(key, 5_000));
  });

  it('frees the key when the TTL has passed without a release', async () => {
    await sidecarA.tryAcquire(key, 100);
    await delay(150);
    assert.ok(await sidecarB.tryAcquire(key, 5_000));
  });

  it('does not free the next holder when an expired holder releases late', async () => {
    const expired = await sidecarA.tryAcquire(key, 100);
    await delay(150);
    assert.ok(await sidecarB.tryAcquire(key, 5_000));
    await expired!.release();
    assert.equal(await sidecarA.tryAcquire(key, 5_000), null);
  });

  it('still locks, exclusively, with one of three nodes killed', async () => {
    await nodes[0]!.kill();
    assert.ok(await sidecarA.tryAcquire(key, 5_000));
    assert.equal(await sidecarB.tryAcquire(key, 5_000), null);
  });

  it('rejects instead of answering null when two of three nodes are down', async () => {
    await Promise.all([nodes[0]!.kill(), nodes[1]!.kill()]);
    await assert.rejects(sidecarA.tryAcquire(key, 5_000), { name: 'LockUnavailableError', message: /1 of 3 nodes answered, 2 needed/ });
  });

  it('never throws from release when the nodes are gone', async () => {
    const held = await sidecarA.tryAcquire(key, 5_000);
    await Promise.all(nodes.map((node) => node.kill()));
    await held!.release();
  });
});
