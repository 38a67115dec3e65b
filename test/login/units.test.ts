import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { authorizationEndpoint, authorizationUrl } from '../../src/login/authorize-url.js';
import { runLogin } from '../../src/login/command.js';
import { systemClock } from '../../src/token/clock.js';
import { writeRefreshTokenFile } from '../../src/login/destinations.js';
import { parseLoginArgs } from '../../src/login/options.js';
import { createPkce, createState, sameState } from '../../src/login/pkce.js';

test('PKCE: a 43-character verifier and its S256 challenge; states are random and compared exactly', () => {
  const { verifier, challenge } = createPkce();
  assert.match(verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(challenge, createHash('sha256').update(verifier).digest('base64url'));
  assert.notEqual(createPkce().verifier, verifier);
  const state = createState();
  assert.notEqual(createState(), state);
  assert.ok(sameState(state, state));
  assert.ok(!sameState(state, `${state}x`));
  assert.ok(!sameState(state, undefined));
});

test('the authorization endpoint sits beside the token endpoint unless OAUTH_AUTHORIZE_URL says otherwise', () => {
  assert.equal(authorizationEndpoint('https://login.euw2.pure.cloud/oauth/token'), 'https://login.euw2.pure.cloud/oauth/authorize');
  assert.equal(authorizationEndpoint('http://127.0.0.1:9000/oauth/token'), 'http://127.0.0.1:9000/oauth/authorize');
  assert.equal(authorizationEndpoint('https://idp.example/oauth/token', 'https://idp.example/authorize'), 'https://idp.example/authorize');
  assert.equal(authorizationEndpoint('https://idp.example/connect/issue'), undefined);
});

test('the authorization URL carries response_type=code, the client, the redirect URI, state and an S256 challenge', () => {
  const url = new URL(authorizationUrl({ endpoint: 'https://login.mypurecloud.com/oauth/authorize', clientId: 'c-1', redirectUri: 'http://127.0.0.1:8085/callback', state: 's-1', codeChallenge: 'ch' }));
  assert.deepEqual(Object.fromEntries(url.searchParams), {
    response_type: 'code', client_id: 'c-1', redirect_uri: 'http://127.0.0.1:8085/callback', state: 's-1', code_challenge: 'ch', code_challenge_method: 'S256',
  });
});

test('login options are taken out; everything else is left for the settings loader', () => {
  const { options, rest, problems } = parseLoginArgs(['--profile', 'bob', '--region', 'eu-west-2', '--no-browser', '--out=b.rt', '--timeout', '30']);
  assert.deepEqual(options, { profile: 'bob', openBrowser: false, out: 'b.rt', timeoutMs: 30_000 });
  assert.deepEqual(rest, ['--region', 'eu-west-2']);
  assert.deepEqual(problems, []);
  assert.equal(parseLoginArgs([]).options.timeoutMs, 300_000);
  assert.equal(parseLoginArgs([]).options.openBrowser, true);
  assert.deepEqual(parseLoginArgs(['--out', '--timeout=-1', '--no-browser=yes']).problems, [
    '--out: needs a value (--out value or --out=value)',
    '--no-browser: takes no value',
    '--timeout: must be a whole number of seconds from 1 to 86400, got "-1"',
  ]);
});

test('the refresh token file is written with mode 0600, replacing a file that was readable by others', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'token-sidecar-rt-'));
  try {
    const path = join(dir, 'user.rt');
    await writeFile(path, 'old');
    await chmod(path, 0o644);
    await writeRefreshTokenFile(path, 'refresh-token-value');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await readFile(path, 'utf8'), 'refresh-token-value\n');
    await assert.rejects(writeRefreshTokenFile(join(dir, 'missing', 'x.rt'), 'v'), /cannot write the refresh token to .*ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('login refuses a group profile, naming its members: each member is one user with a login of its own', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'login-group-'));
  try {
    const member = (user: string) => ({ grant: 'refresh_token', clientId: 'web', clientSecret: 's', refreshTokenFile: `${user}.rt`, tokenUrl: 'http://127.0.0.1:9/oauth/token', upstream: 'http://127.0.0.1:9' });
    const path = join(dir, 'users.json');
    await writeFile(path, JSON.stringify({ defaultProfile: 'team', profiles: { alice: member('alice'), bob: member('bob'), team: { members: ['alice', 'bob'] } } }));
    let stderr = '';
    const io = { stdout: () => {}, stderr: (text: string) => void (stderr += text), clock: systemClock, openBrowser: () => assert.fail('no browser for bad settings') };
    assert.equal(await runLogin(['--config', path, '--out', join(dir, 'x.rt')], {}, io), 2);
    assert.match(stderr, /--profile: "team" is a group of alice, bob; log each member in with --profile <member>/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
