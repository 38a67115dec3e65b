import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Redis } from 'ioredis';
import { waitFor } from '../../src/harness/wait-for.js';
import { closeClient } from '../../src/redis/client.js';
import { openEndpoints, type RedisConnection } from '../../src/redis/connections.js';
import { startSentinelSetup } from '../helpers/redis-sentinel.js';
import { stopAllRedisNodes } from '../helpers/redis-server.js';

// The store's command connection through Sentinel when the primary dies while the sentinel it asks
// first does not answer (stalled, or starved of CPU): the connection must reach the promoted replica.
// Two ways it used not to, both ioredis's: a question to a sentinel that never answers waited for
// ever (no sentinel command timeout), and the notice of the failover (+switch-master), heard while
// the connection was still asking the sentinels, ended it for good (status `end`, no more reconnects),
// so token_sidecar_redis_up stayed 0 until a restart. Seen once in CI as "both sidecars on the new
// primary: not met within 30000 ms" on a starved machine.
const NAME = 'sidecar-failover';

after(() => stopAllRedisNodes());

test('the primary killed while the first sentinel is stalled: the command connection reaches the promoted replica', async () => {
  const { primary, replica, sentinels, primaryPort } = await startSentinelSetup(NAME);
  const connection: RedisConnection = { target: { mode: 'sentinel', sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), name: NAME } };
  const [endpoint] = openEndpoints(connection, 'command');
  const client = endpoint!.client as Redis;
  after(() => closeClient(client));
  await waitFor(() => client.status === 'ready', { what: 'the connection to the primary' });
  assert.equal(await client.set('failover-probe', 'before'), 'OK');

  // The sentinel asked first (the one that answered last) stops answering; the other two can still
  // agree on a failover.
  sentinels[0]!.pause();
  after(() => sentinels[0]!.resume());
  await primary.kill();
  await waitFor(async () => (await primaryPort(1)) === replica.port, { timeoutMs: 30_000, intervalMs: 100, what: 'the two live sentinels promoting the replica' });

  await waitFor(async () => client.status === 'ready' && (await client.set('failover-probe', 'after')) === 'OK', {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'the connection on the promoted replica',
  }).catch((error: Error) => {
    throw new Error(`${error.message}; the connection's status: ${client.status}`);
  });
  assert.equal(Number(/tcp_port:(\d+)/.exec(await client.info('server'))?.[1]), replica.port);
});
