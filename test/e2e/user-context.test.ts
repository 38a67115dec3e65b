import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { getStatus, runLoad } from '../../src/demo/load.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';
import { startMock, startSidecar } from '../helpers/processes.js';
import { API_LATENCY_ARGS } from '../helpers/api-latency.js';

// GET /api/v2/users/me needs a user-context token (docs/genesys.md §4): the refresh_token grant, whose
// refresh tokens are single use and rotate on every refresh. Two instances must share the rotation
// through the store, or the second would present a spent refresh token (invalid_grant).
after(() => stopAllRedisNodes());

test('two instances on the refresh_token grant serve /api/v2/users/me while single-use refresh tokens rotate', async (t) => {
  const [node] = await startRedisNodes(1);
  const mock = await startMock(['--token-lifetime', '2', '--rotate-refresh-tokens', ...API_LATENCY_ARGS]);
  after(() => mock.proc.stop('SIGKILL'));
  // Refresh halfway through each 2 s token so a CPU-starved CI machine has a second to rotate it.
  const env = { REFRESH_AT: '0.5', OAUTH_GRANT: 'refresh_token', OAUTH_REFRESH_TOKEN: 'demo-refresh-token', REDIS_URL: node!.url };
  const sidecars = [await startSidecar(mock.url, env), await startSidecar(mock.url, env)];
  for (const sidecar of sidecars) after(() => sidecar.proc.stop('SIGKILL'));

  type Stats = Awaited<ReturnType<typeof mock.stats>> & { tokenRequests: { byGrant: Record<string, number> } };
  const before = (await mock.stats()) as Stats;
  const result = await runLoad({
    clients: 50,
    // Eight rotations of the refresh token under load (one a second), of which at least four must
    // happen: with 5 s, a starved machine (npm run bench alongside) rotated fewer than four.
    durationMs: 8_000,
    step: (i, dispatcher) => getStatus(dispatcher, `${sidecars[i % 2]!.url}/api/v2/users/me`),
  });
  const stats = (await mock.stats()) as Stats;
  // Refreshes during the run (start-up's, however slow, are not the run's): 2 s tokens refresh every 1 s.
  const during = stats.tokenRequests.total - before.tokenRequests.total;
  const bound = Math.ceil(result.durationMs / 1000 / (2 * 0.5)) + 3;
  t.diagnostic(JSON.stringify({ ...result, tokenRequests: stats.tokenRequests, tokenRequestsDuringLoad: during, bound }));
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.equal(stats.tokenRequests.failed, 0, 'no spent refresh token was ever presented');
  assert.equal(stats.tokenRequests.byGrant.client_credentials ?? 0, 0);
  assert.ok(during >= 4, 'tokens were refreshed (rotating the refresh token) during the run');
  assert.ok(during <= bound, `token requests during the run ${during} > ${bound}`);
});
