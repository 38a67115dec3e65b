import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { waitFor } from '../../src/harness/wait-for.js';
import { loadDuring } from '../helpers/load-during.js';
import { RedisNode, stopAllRedisNodes } from '../helpers/redis-server.js';
import { FAILOVER_TOKENS, REFRESH_WAIT, startTokenFleet } from '../helpers/token-fleet.js';

// Sentinel as teams run it: a primary, a replica and three sentinels (quorum 2). Two sidecars find
// the primary through the sentinels; the primary is killed under load and Sentinel promotes the
// replica. The clients must not notice, and the fleet may spend at most one extra token request.
const CLIENTS = 50;
const NAME = 'sidecar-primary';

after(() => stopAllRedisNodes());

async function sentinelSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-sentinel-'));
  const primary = await RedisNode.start({ dir });
  const replica = await RedisNode.start({ dir, args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const admin = new Redis(primary.url);
  after(() => admin.disconnect());
  await waitFor(async () => /connected_slaves:1/.test(await admin.info('replication')), { what: 'the replica connected to the primary' });
  const sentinels = await Promise.all(
    [0, 1, 2].map(() =>
      RedisNode.start({
        dir,
        sentinelConfig: (port) =>
          [`port ${port}`, 'bind 127.0.0.1', `sentinel monitor ${NAME} 127.0.0.1 ${primary.port} 2`,
            `sentinel down-after-milliseconds ${NAME} 1000`, `sentinel failover-timeout ${NAME} 5000`].join('\n') + '\n',
      }),
    ),
  );
  const asked = sentinels.map((sentinel) => new Redis(sentinel.url));
  after(() => asked.forEach((client) => client.disconnect()));
  // Every sentinel knows the replica and the two other sentinels: a failover can be agreed on.
  await waitFor(
    async () => {
      const known = await Promise.all(asked.map(async (client) => [
        ((await client.call('SENTINEL', 'REPLICAS', NAME)) as unknown[]).length,
        ((await client.call('SENTINEL', 'SENTINELS', NAME)) as unknown[]).length,
      ]));
      return known.every(([replicas, others]) => replicas === 1 && others === 2);
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'the sentinels knowing the replica and each other' },
  );
  const primaryPort = async () => Number(((await asked[0]!.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)) as [string, string])[1]);
  return { primary, replica, sentinels, primaryPort };
}

test('two sidecars through Sentinel: the primary killed under load, no client error and at most one extra token request', async (t) => {
  const { primary, replica, sentinels, primaryPort } = await sentinelSetup();
  const fleet = await startTokenFleet({
    REDIS_SENTINELS: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
    REDIS_SENTINEL_NAME: NAME,
  }, {
    ...FAILOVER_TOKENS,
    // The primary dies right after a token was fetched, before the holder could store it. With an IdP
    // that revokes older tokens on issue, the other instance then sends a revoked token until the
    // store is back (README, Limits); Genesys keeps older tokens valid (docs/genesys.md §3).
    mock: { revokeOnIssue: false },
  });
  assert.deepEqual(await fleet.redisUp(), [1, 1]);
  const { result, outcome } = await loadDuring({ clients: CLIENTS, step: fleet.step }, async () => {
    await fleet.refreshes(1, 'a refresh through the primary under load');
    await primary.kill();
    const killedAt = performance.now();
    await waitFor(async () => (await primaryPort()) === replica.port, { ...REFRESH_WAIT, what: 'Sentinel promoting the replica' });
    const failoverMs = Math.round(performance.now() - killedAt);
    await waitFor(async () => (await fleet.redisUp()).every((up) => up === 1), { ...REFRESH_WAIT, what: 'both sidecars on the new primary' });
    await fleet.refreshes(2, 'two refreshes through the new primary under load');
    return { failoverMs };
  });
  const figures = fleet.figures();
  const redisUp = await fleet.redisUp();
  t.diagnostic(JSON.stringify({ mode: 'Sentinel, primary killed', ...result, ...figures, ...outcome, redisUp }));
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.equal(figures.non200, 0);
  assert.deepEqual(redisUp, [1, 1]);
  assert.ok(figures.tokenRequests <= figures.ideal + 1, `${figures.tokenRequests} token requests, ideal ${figures.ideal} (+1 for the failover)`);
});
