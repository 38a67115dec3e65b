import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { loadConfig } from '../../src/config/load.js';
import { LocalRefreshLock } from '../../src/lock/local.js';
import { createLogger } from '../../src/logging.js';
import { buildMockUpstream } from '../../src/mock/app.js';
import { buildServer } from '../../src/server.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import { waitUntil } from '../helpers/in-process.js';
import { loggedInUserToken } from '../mock/helpers.js';

// A group profile (members: [alice, bob, carol]) in one sidecar, against the mock with Genesys's
// per-user limit (each user's tokens share one window per client): the group routes over its users
// by budget, each member on its own token lifecycle, shared with the member's own profile.

const USERS = ['alice', 'bob', 'carol'] as const;
/** Requests per user per window: the mock's limit and the group's. */
const PER_USER = 10;

const dir = mkdtempSync(join(tmpdir(), 'sidecar-group-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function groupRig(name: string, opts: { brokenMember?: string } = {}) {
  const mock = buildMockUpstream({ rateLimitMode: 'per-user', perTokenLimit: PER_USER, perTokenWindowMs: 60_000 });
  const mockUrl = await mock.app.listen({ port: 0, host: '127.0.0.1' });
  after(() => mock.app.close());
  for (const user of USERS) {
    // A refresh token of each user, as `token-sidecar login` gets it (the mock's login page).
    const answer = await loggedInUserToken(mockUrl, user);
    writeFileSync(join(dir, `${name}-${user}.rt`), user === opts.brokenMember ? 'a-revoked-refresh-token' : answer.refresh_token!);
  }
  const endpoints = { upstream: mockUrl, tokenUrl: `${mockUrl}/oauth/token` };
  const member = (user: string) => ({ grant: 'refresh_token', clientId: 'demo-client', clientSecret: 'demo-secret', refreshTokenFile: `${name}-${user}.rt`, ...endpoints });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    defaultProfile: 'users',
    profiles: { ...Object.fromEntries(USERS.map((user) => [user, member(user)])), users: { members: [...USERS], rateLimitPerToken: PER_USER } },
  }));
  const config = loadConfig(['--config', path], { PORT: '0', ADMIN_PORT: '0', LOG_LEVEL: 'silent', TOKEN_TIMEOUT_MS: '2000' });
  const log = createLogger({ level: 'silent', format: 'json' });
  const sidecar = buildServer(config, { log, backends: { store: new MemoryTokenStore(), lock: new LocalRefreshLock(), kind: 'memory' }, registry: new Registry() });
  await sidecar.start();
  const proxyUrl = await sidecar.proxy.listen({ port: 0, host: '127.0.0.1' });
  const adminUrl = await sidecar.admin.listen({ port: 0, host: '127.0.0.1' });
  after(() => sidecar.close());
  const group = sidecar.profiles.pool('users')!;
  return { mock, mockUrl, sidecar, proxyUrl, adminUrl, group };
}

async function usersMe(url: string): Promise<number> {
  const response = await request(`${url}/api/v2/users/me`);
  await response.body.dump();
  return response.statusCode;
}

/** GET /api/v2/users/me answered 200 per user, as the mock counted them (by user id), in descending order. */
function perUser(rig: { mock: { stats(): { usersMe: Record<string, number> } } }): number[] {
  return Object.values(rig.mock.stats().usersMe).sort((a, b) => b - a);
}

async function adminJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(url);
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

test('a group of three users serves three users\' budgets, each user on one token lifecycle, and /token names the member of each slot', async () => {
  const rig = await groupRig('three');
  await waitUntil(() => rig.group.status().every((slot) => slot.state === 'valid'));
  const statuses = [];
  for (let i = 0; i < 3 * PER_USER; i++) statuses.push(await usersMe(rig.proxyUrl));
  assert.deepEqual(statuses, Array(3 * PER_USER).fill(200), 'three users\' budgets, no 429');
  assert.deepEqual(perUser(rig), [PER_USER, PER_USER, PER_USER], 'each user its own budget');
  // The members' own profiles and the group share each user's lifecycle: one refresh grant per user.
  assert.equal(rig.mock.stats().tokenRequests.byGrant.refresh_token, USERS.length);

  const token = await adminJson(`${rig.adminUrl}/token`);
  const profiles = token.body.profiles as { profile: string; members?: string[]; slots: { slot: number; member?: string; budgetLeft: number | null }[] }[];
  const users = profiles.find((entry) => entry.profile === 'users')!;
  assert.deepEqual(users.members, [...USERS]);
  assert.deepEqual(users.slots.map((slot) => [slot.slot, slot.member, slot.budgetLeft]), [[0, 'alice', 0], [1, 'bob', 0], [2, 'carol', 0]]);
  assert.equal(profiles.find((entry) => entry.profile === 'alice')!.members, undefined);

  // Past every member's budget: the upstream's 429 reaches the client (RATE_LIMIT_POLICY pass), and
  // /token says what would help.
  assert.equal(await usersMe(rig.proxyUrl), 429);
  const after429 = await adminJson(`${rig.adminUrl}/token`);
  const pool = (after429.body.profiles as { profile: string; pool: { overBudget?: string } }[]).find((entry) => entry.profile === 'users')!.pool;
  assert.equal(pool.overBudget, "the group's users' budget: add members");
});

test('a member whose refresh-token family is broken is skipped while the others serve, /readyz stays ready naming it, and a new login repairs it', async () => {
  const rig = await groupRig('broken', { brokenMember: 'alice' });
  const alice = rig.sidecar.profiles.pool('alice')!;
  await waitUntil(() => rig.group.ready && alice.status()[0]!.lastError !== null);

  const readyz = await adminJson(`${rig.adminUrl}/readyz`);
  assert.equal(readyz.status, 200, JSON.stringify(readyz.body));
  assert.deepEqual(readyz.body.reasons, []);
  const degraded = readyz.body.degraded as string[];
  assert.equal(degraded.length, 1);
  assert.match(degraded[0]!, /^profile "alice" holds no valid token: .*invalid_grant/);

  const statuses = [];
  for (let i = 0; i < 2 * PER_USER; i++) statuses.push(await usersMe(rig.proxyUrl));
  assert.deepEqual(statuses, Array(2 * PER_USER).fill(200));
  assert.deepEqual(perUser(rig), [PER_USER, PER_USER], 'bob and carol, their whole budgets; alice none');

  // `token-sidecar login --profile alice --out <her file>`: the new seed file is taken at the next retry.
  const failed = rig.mock.stats().tokenRequests.failed;
  const fresh = await loggedInUserToken(rig.mockUrl, 'alice');
  writeFileSync(join(dir, 'broken-alice.rt.new'), fresh.refresh_token!);
  renameSync(join(dir, 'broken-alice.rt.new'), join(dir, 'broken-alice.rt'));
  await waitUntil(() => rig.group.status()[0]!.state === 'valid', 10_000);
  const repaired = await adminJson(`${rig.adminUrl}/readyz`);
  assert.equal(repaired.status, 200);
  assert.equal(repaired.body.degraded, undefined);
  assert.equal(await usersMe(rig.proxyUrl), 200);
  assert.deepEqual(perUser(rig), [PER_USER, PER_USER, 1], 'alice serves again');
  // Refreshed through the group and through her own profile: one lifecycle and one grant, so the
  // new seed is presented once, and the family rotates from there.
  await rig.group.forceRefresh();
  await rig.sidecar.profiles.pool('alice')!.forceRefresh();
  const stats = rig.mock.stats();
  assert.equal(stats.refreshTokensReused, 0, 'a spent refresh token was presented again');
  assert.equal(stats.tokenRequests.failed, failed, 'no token request refused since the new login');
});
