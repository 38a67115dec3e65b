import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedlockRefreshLock } from '../../src/lock/redlock.js';
import { RedisNode, startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';
import { until } from '../store/contract.js';
import { lockContract, type MakeLockFixture } from './contract.js';

after(stopAllRedisNodes);

/** Locks on `nodeCount` fresh redis-servers, started once for the suite; TTLs run on Redis's clock. */
function onFreshNodes(nodeCount: number): MakeLockFixture {
  let nodes: Promise<RedisNode[]> | undefined;
  return async () => {
    nodes ??= startRedisNodes(nodeCount);
    const urls = (await nodes).map((node) => node.url);
    const opened: RedlockRefreshLock[] = [];
    const inspectors = urls.map((url) => new Redis(url));
    return {
      open: async () => {
        const lock = new RedlockRefreshLock({ urls });
        opened.push(lock);
        return lock;
      },
      // Redis drops the hold at its TTL: wait until no node has it any more.
      lapse: async (key, ttlMs) => {
        const counts = async () => (await Promise.all(inspectors.map((inspector) => inspector.exists(`${key}:lock`)))).reduce((a, b) => a + b, 0);
        await until(async () => (await counts()) === 0, ttlMs + 2_000);
      },
      close: async () => {
        await Promise.all([...opened.map((lock) => lock.close()), ...inspectors.map((inspector) => inspector.quit())]);
      },
    };
  };
}

lockContract('RedlockRefreshLock on one node', onFreshNodes(1));
lockContract('RedlockRefreshLock on three nodes', onFreshNodes(3));

describe('RedlockRefreshLock on three nodes, some of them down', () => {
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

  it('keeps its hold under a key of its own, never the key it is given (the store keeps the token there)', async () => {
    const inspector = new Redis(nodes[0]!.url);
    try {
      assert.ok(await sidecarA.tryAcquire(key, 5_000));
      assert.equal(await inspector.exists(key), 0);
      assert.equal(await inspector.exists(`${key}:lock`), 1);
    } finally {
      await inspector.quit();
    }
  });
});
