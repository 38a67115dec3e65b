import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { runLoad } from '../../src/demo/load.js';
import { callbackPort, loginAs, startLogin } from '../helpers/login.js';
import { startMock, startSidecar } from '../helpers/processes.js';
import { API_LATENCY_ARGS } from '../helpers/api-latency.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';

// Many users in one load test: a profiles file with one refresh_token profile per user, each filled
// by `login --profile NAME` (one after another), then 60 clients spread over the users with
// x-token-profile, through two sidecars sharing one Redis. Every request must reach the mock as its
// own user, and no single-use refresh token may ever be presented twice.
after(() => stopAllRedisNodes());

const USERS = ['alice', 'bob', 'carol'] as const;
const NOT_THAT_USER = 999;

test('three users logged in one after another; 60 clients over them through two sidecars on Redis for 6 s', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'token-sidecar-users-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const [node] = await startRedisNodes(1);
  const { port, redirectUris } = await callbackPort();
  const mock = await startMock([...redirectUris, '--token-lifetime', '4', ...API_LATENCY_ARGS]);
  after(() => mock.proc.stop('SIGKILL'));

  const profilesFile = join(dir, 'profiles.json');
  const endpoints = { upstream: mock.url, tokenUrl: `${mock.url}/oauth/token` };
  const profile = (name: string) => ({ grant: 'refresh_token', clientId: 'demo-client', clientSecret: 'demo-secret', refreshTokenFile: `${name}.rt`, ...endpoints });
  await writeFile(profilesFile, JSON.stringify({ profiles: Object.fromEntries(USERS.map((name) => [name, profile(name)])) }));
  // Only the profiles file: no flat credentials, so no "default" profile.
  const env = { SIDECAR_CONFIG: profilesFile, REDIS_URL: node!.url, GENESYSCLOUD_OAUTHCLIENT_ID: '', GENESYSCLOUD_OAUTHCLIENT_SECRET: '' };

  const userIds = new Map<string, string>();
  for (const name of USERS) {
    const run = startLogin(mock.url, port, ['--profile', name, '--out', join(dir, `${name}.rt`)], env);
    after(() => run.proc.stop('SIGKILL'));
    assert.equal(await loginAs(run, name), 0, run.proc.output());
    const id = /Logged in as \S+ \(id ([0-9a-f-]+)\) for profile "(\w+)"/.exec(run.stdout());
    assert.equal(id?.[2], name, run.stdout());
    userIds.set(name, id![1]!);
  }
  assert.equal(new Set(userIds.values()).size, 3);

  const sidecars = [await startSidecar(mock.url, env), await startSidecar(mock.url, env)];
  for (const sidecar of sidecars) after(() => sidecar.proc.stop('SIGKILL'));
  const before = (await mock.stats()) as unknown as MockFigures;

  const perUser = new Map<string, number>(USERS.map((name) => [name, 0]));
  const result = await runLoad({
    clients: 60,
    durationMs: 6_000,
    step: async (i, dispatcher) => {
      const name = USERS[i % USERS.length]!;
      const response = await request(`${sidecars[Math.floor(i / USERS.length) % 2]!.url}/api/v2/users/me`, {
        dispatcher,
        headers: { 'x-token-profile': name },
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return response.statusCode;
      }
      const me = (await response.body.json()) as { id: string };
      if (me.id !== userIds.get(name)) return NOT_THAT_USER;
      perUser.set(name, perUser.get(name)! + 1);
      return 200;
    },
  });
  const stats = (await mock.stats()) as unknown as MockFigures;
  const refreshGrants = stats.tokenRequests.byGrant.refresh_token - before.tokenRequests.byGrant.refresh_token;
  t.diagnostic(JSON.stringify({ requests: result.requests, perUser: Object.fromEntries(perUser), non2xx: result.non2xx, byStatus: result.byStatus, refreshGrants, refreshTokensReused: stats.refreshTokensReused }));

  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  for (const name of USERS) {
    assert.ok(perUser.get(name)! > 0, `${name} made no request`);
    // The mock's own count of /users/me per user: the load's requests plus login's own check.
    assert.equal(stats.usersMe[userIds.get(name)!], perUser.get(name)! + 1, `${name}: the mock saw another user`);
  }
  assert.equal(stats.refreshTokensReused, 0, 'a spent refresh token was presented again');
  assert.equal(stats.tokenRequests.failed, 0);
  // 4 s tokens refreshed at 80% of their lifetime: each user's chain rotated during the 6 s.
  assert.ok(refreshGrants >= USERS.length, `only ${refreshGrants} refresh grants`);
});

interface MockFigures {
  tokenRequests: { failed: number; byGrant: { refresh_token: number } };
  refreshTokensReused: number;
  usersMe: Record<string, number>;
}
