import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCheck } from '../../src/check/command.js';
import { startCli } from '../helpers/processes.js';
import { startMock } from '../mock/helpers.js';

// `token-sidecar check`: one token per profile, one cheap call with it, who and what printed (never
// the token), exit 0 / 1 / 2.

async function check(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCheck(argv, env, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) });
  return { code, stdout, stderr };
}

async function mockSettings(t: TestContext) {
  const mock = await startMock(t);
  return {
    mock,
    env: {
      GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
      GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
      UPSTREAM_URL: mock.base,
      TOKEN_URL: `${mock.base}/oauth/token`,
    },
  };
}

/** The mock's tokens are 43 characters of base64url: nothing that long may be printed. */
const TOKEN_LIKE = /[A-Za-z0-9_-]{40,}/;

test('check fetches a token, calls /api/v2/tokens/me with it and prints who and what, never the token: exit 0', async (t) => {
  const { mock, env } = await mockSettings(t);
  const { code, stdout, stderr } = await check(['--check-path', '/api/v2/tokens/me'], env);
  assert.equal(code, 0, stdout + stderr);
  assert.match(stdout, /profile "default" \(client demo-client, client_credentials\)/);
  assert.match(stdout, /token: ok from http:\/\/127\.0\.0\.1:\d+\/oauth\/token in \d+ ms \(expires in \d+ s\)/);
  assert.match(stdout, /GET http:\/\/127\.0\.0\.1:\d+\/api\/v2\/tokens\/me: 200 in \d+ ms/);
  assert.match(stdout, /organization: token-sidecar mock organization \(7d1a0f5e-/);
  assert.match(stdout, /OAuth client: token-sidecar mock client \(demo-client\)/);
  assert.match(stdout, /check: ok\n$/);
  assert.doesNotMatch(stdout + stderr, TOKEN_LIKE);
  assert.equal(mock.stats().tokenRequests.total, 1);
  assert.equal(mock.stats().api.total, 1);
});

test('check exits 1 naming the token endpoint\'s answer when the credentials are refused', async (t) => {
  const { mock, env } = await mockSettings(t);
  const { code, stdout } = await check([], { ...env, GENESYSCLOUD_OAUTHCLIENT_SECRET: 'wrong-secret' });
  assert.equal(code, 1);
  assert.match(stdout, /token: FAILED from .*401.*invalid_client/);
  assert.match(stdout, /check: FAILED \(1 of 1 profile\)/);
  assert.doesNotMatch(stdout, /wrong-secret/);
  assert.equal(mock.stats().api.total, 0);
});

test('check exits 1 when the endpoint does not answer 2xx, with the upstream\'s error code', async (t) => {
  const { env } = await mockSettings(t);
  const { code, stdout } = await check(['--check-path=/api/v2/no/such/thing'], env);
  assert.equal(code, 1);
  assert.match(stdout, /GET .*\/api\/v2\/no\/such\/thing: 404 in \d+ ms \(not\.found/);
});

test('check without --check-path against a non-Genesys upstream checks the token alone', async (t) => {
  const { mock, env } = await mockSettings(t);
  const { code, stdout } = await check([], env);
  assert.equal(code, 0);
  assert.match(stdout, /endpoint: none called/);
  assert.equal(mock.stats().api.total, 0);
});

test('check exits 2 naming every bad setting, through the CLI', async () => {
  const proc = startCli(['check', '--port', 'eighty', '--check-path', 'no-slash'], { GENESYSCLOUD_OAUTHCLIENT_ID: 'c', GENESYSCLOUD_OAUTHCLIENT_SECRET: 's' });
  const code = await proc.exited;
  assert.equal(code, 2);
  assert.match(proc.output(), /--check-path: must be a path starting with \//);
  assert.match(proc.output(), /PORT \(--port\): must be an integer/);
});

test('check skips a group profile, which has no token of its own, and its members, whose refresh tokens it would spend', async (t) => {
  const { mock } = await mockSettings(t);
  const dir = mkdtempSync(join(tmpdir(), 'check-group-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const member = { grant: 'refresh_token', clientId: 'demo-client', clientSecret: 'demo-secret', refreshToken: 'demo-refresh-token', upstream: mock.base, tokenUrl: `${mock.base}/oauth/token` };
  const path = join(dir, 'users.json');
  writeFileSync(path, JSON.stringify({ defaultProfile: 'team', profiles: { alice: member, bob: member, team: { members: ['alice', 'bob'] } } }));
  const { code, stdout } = await check(['--config', path]);
  assert.equal(code, 0, stdout);
  assert.match(stdout, /profile "team" \(group of alice, bob\)\n {2}skipped: a group has no token of its own; its members are checked as profiles of their own/);
  assert.equal(mock.stats().tokenRequests.total, 0);
});
