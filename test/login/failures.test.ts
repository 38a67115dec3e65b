import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { callbackPort, followToCallback, startLogin, submitLoginForm, type LoginRun } from '../helpers/login.js';
import { freePort, startCli, startMock } from '../helpers/processes.js';

// How `token-sidecar login` ends when the login does not succeed: each failure exits 1 with the
// OAuth error (or the reason) on stderr, and writes no refresh token; bad settings exit 2 with every
// problem at once. The browser is played over plain HTTP here (the browser test uses Chromium).

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'token-sidecar-login-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function setUp(args: string[] = []): Promise<{ run: LoginRun; out: string; mockUrl: string }> {
  const { port, redirectUris } = await callbackPort();
  const mock = await startMock(redirectUris);
  after(() => mock.proc.stop('SIGKILL'));
  const out = join(dir, `rt-${port}`);
  const run = startLogin(mock.url, port, ['--out', out, ...args]);
  after(() => run.proc.stop('SIGKILL'));
  return { run, out, mockUrl: mock.url };
}

async function assertNothingWritten(out: string): Promise<void> {
  await assert.rejects(stat(out), { code: 'ENOENT' });
}

test('a denied consent exits 1 with access_denied and its description; the browser is told', async () => {
  const { run, out } = await setUp();
  const location = await submitLoginForm(await run.authorizationUrl, { decision: 'deny' });
  assert.equal(location.searchParams.get('error'), 'access_denied');
  const page = await followToCallback(location);
  assert.equal(page.status, 400);
  assert.match(page.text, /Login failed/);
  assert.equal(await run.proc.exited, 1);
  assert.match(run.proc.output(), /token-sidecar login: the authorization server answered access_denied: the user denied the request/);
  await assertNothingWritten(out);
});

test('a callback whose state is not the one sent exits 1 with a state mismatch; the code is not exchanged', async () => {
  const { run, out, mockUrl } = await setUp();
  const location = await submitLoginForm(await run.authorizationUrl, { username: 'alice', password: 'alice-password', decision: 'approve' });
  location.searchParams.set('state', 'forged-state');
  assert.equal((await followToCallback(location)).status, 400);
  assert.equal(await run.proc.exited, 1);
  assert.match(run.proc.output(), /token-sidecar login: state mismatch/);
  await assertNothingWritten(out);
  const stats = (await (await fetch(`${mockUrl}/__stats`)).json()) as { tokenRequests: { byGrant: Record<string, number> } };
  assert.equal(stats.tokenRequests.byGrant.authorization_code, 0, 'nothing was exchanged');
});

test('a code already redeemed elsewhere exits 1 with invalid_grant "already used"', async () => {
  const { run, out, mockUrl } = await setUp();
  const location = await submitLoginForm(await run.authorizationUrl, { username: 'alice', password: 'alice-password', decision: 'approve' });
  // Someone else redeems the code first (without the verifier it fails, and spends the code).
  const stolen = await fetch(`${mockUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('demo-client:demo-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: location.searchParams.get('code')!, redirect_uri: `http://127.0.0.1:${run.port}/callback`, code_verifier: 'x'.repeat(43) }).toString(),
  });
  assert.equal(stolen.status, 400);
  assert.equal((await followToCallback(location)).status, 400);
  assert.equal(await run.proc.exited, 1);
  assert.match(run.proc.output(), /token-sidecar login: the token endpoint refused the code exchange: invalid_grant: authorization code was already used/);
  await assertNothingWritten(out);
});

test('no answer within --timeout exits 1 saying it timed out', async () => {
  const { run, out } = await setUp(['--timeout', '1']);
  await run.authorizationUrl;
  assert.equal(await run.proc.exited, 1);
  assert.match(run.proc.output(), /token-sidecar login: timed out after 1 s waiting for the browser to return to http:\/\/127\.0\.0\.1:\d+\/callback/);
  await assertNothingWritten(out);
});

test('with a public client that gets no refresh token, login says so plainly and exits 1', async () => {
  // The default mock gives public clients no refresh token; this login has no secret.
  const out = join(dir, 'rt-public');
  const { port, redirectUris } = await callbackPort();
  const mock = await startMock(redirectUris);
  after(() => mock.proc.stop('SIGKILL'));
  const publicRun = startLogin(mock.url, port, ['--out', out], { GENESYSCLOUD_OAUTHCLIENT_SECRET: '' });
  after(() => publicRun.proc.stop('SIGKILL'));
  const location = await submitLoginForm(await publicRun.authorizationUrl, { username: 'bob', password: 'bob-password', decision: 'approve' });
  await followToCallback(location);
  assert.equal(await publicRun.proc.exited, 1);
  assert.match(publicRun.proc.output(), /logged in as Bob \(id [0-9a-f-]+\), but the token endpoint returned no refresh token/);
  await assertNothingWritten(out);
});

test('a shared store that cannot be reached exits 1, saying the refresh token is in the file all the same', async () => {
  const { port, redirectUris } = await callbackPort();
  const mock = await startMock(redirectUris);
  after(() => mock.proc.stop('SIGKILL'));
  const out = join(dir, 'rt-no-store');
  const nobody = await freePort();
  const run = startLogin(mock.url, port, ['--out', out], { OAUTH_GRANT: 'refresh_token', REDIS_URL: `redis://127.0.0.1:${nobody}` });
  after(() => run.proc.stop('SIGKILL'));
  const location = await submitLoginForm(await run.authorizationUrl, { username: 'alice', password: 'alice-password', decision: 'approve' });
  assert.equal((await followToCallback(location)).status, 400);
  assert.equal(await run.proc.exited, 1);
  assert.match(run.proc.output(), /token-sidecar login: the shared store did not take the refresh token: .*\(the refresh token was written to .*rt-no-store \(mode 0600/);
  assert.equal((await stat(out)).mode & 0o777, 0o600);
});

test('login --help explains the flow, what the Genesys OAuth client needs, and the exit codes', async () => {
  const help = startCli(['login', '--help']);
  assert.equal(await help.exited, 0);
  const text = help.output();
  assert.match(text, /^Usage: token-sidecar login \[--profile NAME\] \[--no-browser\] \[--out FILE\] \[--timeout S\]/);
  assert.match(text, /grant type "Code Authorization"/);
  assert.match(text, /redirect URI http:\/\/127\.0\.0\.1:8085\/callback/);
  assert.match(text, /refresh token family is revoked/);
  assert.match(text, /Exit codes: 0 logged in/);
});

test('bad settings exit 2 listing every problem at once', async () => {
  const proc = startCli(['login', '--timeout', '0', '--profile', 'nobody', '--login-port', '70000'], {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
  });
  assert.equal(await proc.exited, 2);
  const output = proc.output();
  assert.match(output, /invalid login settings \(2 problems\)/);
  assert.match(output, /--timeout: must be a whole number of seconds from 1/);
  assert.match(output, /LOGIN_PORT \(--login-port\): must be an integer from 1 to 65535/);

  const nowhere = startCli(['login', '--profile', 'nobody'], { GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client', REDIS_URL: '' });
  assert.equal(await nowhere.exited, 2);
  assert.match(nowhere.output(), /--profile: no profile named "nobody" \(profiles: default\)/);
  assert.match(nowhere.output(), /nowhere to put the refresh token: give --out FILE and\/or REDIS_URL \(--redis\)/);

  const clientCredentials = startCli(['login'], { GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client', REDIS_URL: 'redis://127.0.0.1:1' });
  assert.equal(await clientCredentials.exited, 2);
  assert.match(clientCredentials.output(), /OAUTH_GRANT \(--grant\): profile "default" uses client_credentials/);
});
