import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { openBackends, openStoreHost } from '../src/compose.js';
import { IpcRefreshLock } from '../src/lock/ipc.js';
import { LocalRefreshLock } from '../src/lock/local.js';
import { RedlockRefreshLock } from '../src/lock/redlock.js';
import { SinglePrimaryRefreshLock } from '../src/lock/single-primary.js';
import type { Config } from '../src/config/types.js';
import { IpcTokenStore } from '../src/store/ipc.js';
import { MemoryTokenStore } from '../src/store/memory.js';
import { RedisTokenStore } from '../src/store/redis.js';
import { freePort } from '../src/harness/child-processes.js';
import { quietLog } from './lifecycle/rig.js';
import { testConfig } from './helpers/in-process.js';

// The composition root picks the store and lock from the settings and the process's role.

const config = testConfig('http://127.0.0.1:9');

test('without REDIS_URL a single process keeps tokens in memory', async () => {
  const backends = openBackends(config, quietLog());
  assert.ok(backends.store instanceof MemoryTokenStore && backends.lock instanceof LocalRefreshLock);
  assert.equal(backends.kind, 'memory');
});

test("without REDIS_URL a worker uses its primary's store and lock over IPC, and the primary hosts them", async () => {
  const channel = Object.assign(new EventEmitter(), { send: () => true });
  const backends = openBackends(config, quietLog(), { channel });
  assert.ok(backends.store instanceof IpcTokenStore && backends.lock instanceof IpcRefreshLock);
  assert.equal(backends.kind, 'memory');
  assert.ok(openStoreHost(config));
});

test('with Redis every process uses the Redis store, with the lock its mode calls for, and no primary hosts a store', async () => {
  const [a, b, c] = [await freePort(), await freePort(), await freePort()];
  const modes: [string, NonNullable<Config['redis']>['target'], new (...args: never[]) => unknown][] = [
    ['one URL', { mode: 'nodes', urls: [`redis://127.0.0.1:${a}`] }, SinglePrimaryRefreshLock],
    ['independent nodes', { mode: 'nodes', urls: [a, b, c].map((port) => `redis://127.0.0.1:${port}`) }, RedlockRefreshLock],
    ['Sentinel', { mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: a }], name: 'primary' }, SinglePrimaryRefreshLock],
    ['Cluster', { mode: 'cluster', seeds: [{ host: '127.0.0.1', port: a }] }, SinglePrimaryRefreshLock],
  ];
  for (const [mode, target, lockClass] of modes) {
    const redis: Config = { ...config, redis: { target } };
    const backends = openBackends(redis, quietLog(), { channel: Object.assign(new EventEmitter(), { send: () => true }) });
    try {
      assert.ok(backends.store instanceof RedisTokenStore, mode);
      assert.ok(backends.lock instanceof lockClass, `${mode}: ${backends.lock.constructor.name}`);
      assert.equal(backends.kind, 'redis');
      assert.equal(openStoreHost(redis), undefined);
    } finally {
      await Promise.all([backends.store.close(), backends.lock.close()]);
    }
  }
});
