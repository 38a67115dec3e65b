import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { Redis } from 'ioredis';
import { waitFor } from '../../src/harness/wait-for.js';
import { RedisNode } from './redis-server.js';

/**
 * Sentinel as teams run it: a primary, a replica and three sentinels (quorum 2, the primary taken
 * for down after 1 s). Resolves once every sentinel knows the replica and the two other sentinels,
 * so a failover can be agreed on. `primaryPort` asks the first sentinel where the primary is.
 * Register `after(stopAllRedisNodes)` in the test file.
 */
export async function startSentinelSetup(name: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-sentinel-'));
  const primary = await RedisNode.start({ dir });
  const replica = await RedisNode.start({ dir, args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const admin = new Redis(primary.url);
  try {
    await waitFor(async () => /connected_slaves:1/.test(await admin.info('replication')), { what: 'the replica connected to the primary' });
  } finally {
    admin.disconnect();
  }
  const sentinels = await Promise.all(
    [0, 1, 2].map(() =>
      RedisNode.start({
        dir,
        sentinelConfig: (port) =>
          [`port ${port}`, 'bind 127.0.0.1', `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
            `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 5000`].join('\n') + '\n',
      }),
    ),
  );
  const asked = sentinels.map((sentinel) => new Redis(sentinel.url));
  after(() => asked.forEach((client) => client.disconnect()));
  await waitFor(
    async () => {
      const known = await Promise.all(asked.map(async (client) => [
        ((await client.call('SENTINEL', 'REPLICAS', name)) as unknown[]).length,
        ((await client.call('SENTINEL', 'SENTINELS', name)) as unknown[]).length,
      ]));
      return known.every(([replicas, others]) => replicas === 1 && others === 2);
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'the sentinels knowing the replica and each other' },
  );
  /** Where sentinel `index` (default the first) says the primary is. */
  const primaryPort = async (index = 0) => Number(((await asked[index]!.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string])[1]);
  return { primary, replica, sentinels, primaryPort };
}
