import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { getStatus, runLoad } from '../../src/demo/load.js';
import { loggedInUserToken } from '../mock/helpers.js';
import { startMock, startSidecar } from '../helpers/processes.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';

// A user-context load above one user's budget, through a group profile: the mock counts each user's
// tokens in one window (Genesys's org.app.user.rate.per.minute, docs/genesys.md §5), so one user's
// tokens cannot carry it, however many. The group's three users can: two sidecars on one Redis
// route the plain requests (no x-token-profile, no CSV) over the users by budget, while each user's
// single-use refresh tokens rotate in that user's own family. Genesys's 300 per minute per user is
// kept as 20 per 2 s, so the run spans several windows in a few seconds.
after(() => stopAllRedisNodes());

const USERS = ['alice', 'bob', 'carol'] as const;
const PER_USER = 20;
const WINDOW_S = 2;
/** 20 requests/s: twice one user's 10/s, two thirds of the three users' 30/s. */
const CLIENTS = 20;
const DURATION_MS = 5_000;

test('a group of three users carries twice one user\'s budget through two sidecars on Redis: no client error, every user used, each family rotated', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'token-sidecar-group-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const [[node], mock] = await Promise.all([
    startRedisNodes(1),
    // 2 s tokens refreshed at half their lifetime: each family rotates about every second.
    startMock(['--rate-limit-mode', 'per-user', '--per-token-limit', String(PER_USER), '--per-token-window', String(WINDOW_S * 1000), '--token-lifetime', '2']),
  ]);
  after(() => mock.proc.stop('SIGKILL'));

  // Each user logs in once (the mock's login page and code exchange, as `token-sidecar login` does).
  for (const user of USERS) await writeFile(join(dir, `${user}.rt`), (await loggedInUserToken(mock.url, user)).refresh_token!);
  const endpoints = { upstream: mock.url, tokenUrl: `${mock.url}/oauth/token` };
  const member = (user: string) => ({ grant: 'refresh_token', clientId: 'demo-client', clientSecret: 'demo-secret', refreshTokenFile: `${user}.rt`, ...endpoints });
  const profilesFile = join(dir, 'users.json');
  await writeFile(profilesFile, JSON.stringify({
    defaultProfile: 'users',
    profiles: { ...Object.fromEntries(USERS.map((user) => [user, member(user)])), users: { members: [...USERS] } },
  }));
  const env = {
    SIDECAR_CONFIG: profilesFile, REDIS_URL: node!.url, GENESYSCLOUD_OAUTHCLIENT_ID: '', GENESYSCLOUD_OAUTHCLIENT_SECRET: '',
    REFRESH_AT: '0.5', RATE_LIMIT_PER_TOKEN: String((PER_USER * 60) / WINDOW_S), RATE_LIMIT_WINDOW_S: String(WINDOW_S),
  };
  const sidecars = await Promise.all([startSidecar(mock.url, env), startSidecar(mock.url, env)]);
  for (const sidecar of sidecars) after(() => sidecar.proc.stop('SIGKILL'));
  const generations = async () => {
    const token = (await (await fetch(`${sidecars[0]!.adminUrl}/token`)).json()) as { profiles: { profile: string; slots: { member?: string; token: { generation: number } | null }[] }[] };
    const group = token.profiles.find((entry) => entry.profile === 'users')!;
    return group.slots.map((slot) => [slot.member, slot.token?.generation ?? 0] as const);
  };
  const before = await generations();

  const result = await runLoad({
    clients: CLIENTS,
    durationMs: DURATION_MS,
    intervalMs: 1_000,
    step: (i, dispatcher) => getStatus(dispatcher, `${sidecars[i % 2]!.url}/api/v2/users/me`),
  });
  const stats = (await mock.stats()) as unknown as MockFigures;
  const perUser = Object.values(stats.usersMe).sort((a, b) => b - a);
  const rotated = await generations();
  t.diagnostic(JSON.stringify({ requests: result.requests, byStatus: result.byStatus, perUser, perUser429s: stats.rateLimit.rateLimited['per-user'], before, rotated, refreshGrants: stats.tokenRequests.byGrant.refresh_token, refreshTokensReused: stats.refreshTokensReused }));

  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.ok(result.requests >= 0.8 * CLIENTS * (DURATION_MS / 1000), `only ${result.requests} requests`);
  // Above one user's budget over the run, so no user could have served it alone.
  assert.ok(result.requests > (DURATION_MS / 1000 / WINDOW_S + 1) * PER_USER, `${result.requests} requests: within one user's budget`);
  assert.equal(stats.rateLimit.rateLimited['per-user'], 0, 'a user was sent past its budget');
  assert.equal(perUser.length, USERS.length, `users served: ${JSON.stringify(stats.usersMe)}`);
  for (const served of perUser) assert.ok(served >= result.requests / 6, `requests per user ${JSON.stringify(perUser)}: not spread over the three`);
  // Each user's family rotated in its own chain: its key's generation rose, no spent refresh token was
  // presented again, and no refresh was refused.
  assert.deepEqual(rotated.map(([name]) => name), [...USERS]);
  for (const [index, [name, generation]] of rotated.entries()) assert.ok(generation >= before[index]![1] + 2, `${name}: generation ${before[index]![1]} → ${generation}`);
  assert.equal(stats.refreshTokensReused, 0, 'a spent refresh token was presented again');
  assert.equal(stats.tokenRequests.failed, 0, 'a token request was refused (invalid_grant)');
});

interface MockFigures {
  tokenRequests: { failed: number; byGrant: { refresh_token: number } };
  refreshTokensReused: number;
  usersMe: Record<string, number>;
  rateLimit: { rateLimited: Record<string, number> };
}
