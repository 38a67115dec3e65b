import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { waitFor } from '../../src/harness/wait-for.js';
import { loadDuring } from '../helpers/load-during.js';
import { stopAllRedisNodes } from '../helpers/redis-server.js';
import { startSentinelSetup } from '../helpers/redis-sentinel.js';
import { FAILOVER_TOKENS, REFRESH_WAIT, startTokenFleet } from '../helpers/token-fleet.js';

// Sentinel as teams run it: a primary, a replica and three sentinels (quorum 2). Two sidecars find
// the primary through the sentinels; the primary is killed under load and Sentinel promotes the
// replica. The clients must not notice, and the fleet may spend at most one extra token request.
const CLIENTS = 50;
const NAME = 'sidecar-primary';

after(() => stopAllRedisNodes());

test('two sidecars through Sentinel: the primary killed under load, no client error and at most one extra token request', async (t) => {
  const { primary, replica, sentinels, primaryPort } = await startSentinelSetup(NAME);
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
