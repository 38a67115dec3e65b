import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildMockUpstream } from '../../src/mock/app.js';
import { callbackPort, followToCallback, startLogin, submitLoginForm, type LoginRun } from '../helpers/login.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';

// The secret-leak scenario for `token-sidecar login` (README "What it guarantees" 7, and login's own promise:
// no token, code or code verifier in any output). The built CLI runs at LOG_LEVEL=trace against an
// in-process mock that captures every secret of the flow as it passes: the codes it hands out (in
// the redirect), the code verifiers and codes presented at /oauth/token, and the access and refresh
// tokens it issues. Three logins: one that succeeds into a file and the shared store, one whose code
// was already spent (the token endpoint's error is reported), one with a forged state. Everything
// login printed, and every page it showed the browser, is then searched.

const CLIENT_SECRET = `client-secret-${randomBytes(9).toString('hex')}`;
const captured = { codes: new Set<string>(), verifiers: new Set<string>(), accessTokens: new Set<string>(), refreshTokens: new Set<string>() };
const outputs: Array<{ what: string; text: string }> = [];
const exitCodes: Array<number | string> = [];
/** What login wrote to --out: it must be one of the captured refresh tokens (the capture is sound). */
let writtenRefreshToken = '';

after(() => stopAllRedisNodes());

before(async () => {
  const [node] = await startRedisNodes(1);
  const { port, redirectUris } = await callbackPort();
  const mock = buildMockUpstream({ clientSecret: CLIENT_SECRET, redirectUris: [redirectUris[1]!] });
  mock.app.addHook('preHandler', async (request) => {
    const body = request.body as Record<string, string> | undefined;
    if (request.url === '/oauth/token' && body?.grant_type === 'authorization_code') {
      if (body.code) captured.codes.add(body.code);
      if (body.code_verifier) captured.verifiers.add(body.code_verifier);
    }
  });
  mock.app.addHook('onSend', async (request, reply, payload) => {
    const path = request.url.split('?')[0];
    const location = reply.getHeader('location');
    if (path === '/oauth/authorize' && typeof location === 'string') {
      const code = new URL(location).searchParams.get('code');
      if (code) captured.codes.add(code);
    }
    if (path === '/oauth/token' && reply.statusCode === 200 && typeof payload === 'string') {
      const body = JSON.parse(payload) as { access_token?: string; refresh_token?: string };
      if (body.access_token) captured.accessTokens.add(body.access_token);
      if (body.refresh_token) captured.refreshTokens.add(body.refresh_token);
    }
    return payload;
  });
  const mockUrl = await mock.app.listen({ host: '127.0.0.1', port: 0 });
  const dir = await mkdtemp(join(tmpdir(), 'token-sidecar-login-leak-'));
  after(async () => {
    await mock.app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const env = { LOG_LEVEL: 'trace', GENESYSCLOUD_OAUTHCLIENT_SECRET: CLIENT_SECRET, OAUTH_GRANT: 'refresh_token', REDIS_URL: node!.url };
  const record = async (what: string, run: LoginRun) => {
    exitCodes.push(await run.proc.exited);
    outputs.push({ what: `${what}: login output`, text: run.proc.output() });
  };
  const approve = async (run: LoginRun) =>
    submitLoginForm(await run.authorizationUrl, { username: 'alice', password: 'alice-password', decision: 'approve' });

  const ok = startLogin(mockUrl, port, ['--out', join(dir, 'alice.rt')], env);
  outputs.push({ what: 'success: page shown to the browser', text: (await followToCallback(await approve(ok))).text });
  await record('success', ok);
  writtenRefreshToken = (await readFile(join(dir, 'alice.rt'), 'utf8')).trim();

  const reused = startLogin(mockUrl, port, [], env);
  const location = await approve(reused);
  // Someone else spends the code first, with a verifier of their own (also captured as a secret).
  await fetch(`${mockUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`demo-client:${CLIENT_SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: location.searchParams.get('code')!, redirect_uri: `http://127.0.0.1:${port}/callback`, code_verifier: randomBytes(32).toString('base64url') }).toString(),
  });
  outputs.push({ what: 'reused code: page shown to the browser', text: (await followToCallback(location)).text });
  await record('reused code', reused);

  const forged = startLogin(mockUrl, port, [], env);
  const forgedLocation = await approve(forged);
  forgedLocation.searchParams.set('state', 'forged');
  outputs.push({ what: 'forged state: page shown to the browser', text: (await followToCallback(forgedLocation)).text });
  await record('forged state', forged);
});

test('the scenario ran: one login succeeded, two failed, at trace level, with every kind of secret captured', () => {
  assert.deepEqual(exitCodes, [0, 1, 1]);
  const all = outputs.map((o) => o.text).join('\n');
  assert.match(all, /"level":10|"level":20/, 'no debug/trace line: login did not log at its most verbose level');
  assert.match(all, /invalid_grant: authorization code was already used/);
  assert.match(all, /state mismatch/);
  assert.ok(captured.codes.size >= 3, `${captured.codes.size} codes`);
  assert.ok(captured.verifiers.size >= 2, `${captured.verifiers.size} verifiers`);
  assert.ok(captured.accessTokens.size >= 1);
  assert.ok(captured.refreshTokens.has(writtenRefreshToken), 'the refresh token login wrote is one the capture saw');
});

test('no code, code verifier, access token, refresh token or client secret in any output of login or page it showed', () => {
  const secrets: Array<[string, string]> = [
    ...[...captured.codes].map((s) => ['code', s] as [string, string]),
    ...[...captured.verifiers].map((s) => ['code verifier', s] as [string, string]),
    ...[...captured.accessTokens].map((s) => ['access token', s] as [string, string]),
    ...[...captured.refreshTokens].map((s) => ['refresh token', s] as [string, string]),
    ['client secret', CLIENT_SECRET],
    ['client secret (Basic)', Buffer.from(`demo-client:${CLIENT_SECRET}`).toString('base64')],
  ];
  for (const { what, text } of outputs) {
    for (const [kind, secret] of secrets) {
      const at = text.indexOf(secret);
      assert.equal(at, -1, `${what} contains a ${kind}: …${text.slice(Math.max(0, at - 80), at + secret.length + 20)}…`);
    }
  }
});
