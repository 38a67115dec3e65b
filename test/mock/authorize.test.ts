import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CODE_LIFETIME_MS } from '../../src/mock/authorization-codes.js';
import { callApi, mockClock, postToken, startMock, type TokenAnswer } from './helpers.js';

// The authorization-code grant with PKCE as the mock serves it: the login page, its checks, the
// redirect with a single-use code, and the exchange at /oauth/token.

const REDIRECT = 'http://127.0.0.1:8085/callback';

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeParams(challenge: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code', client_id: 'demo-client', redirect_uri: REDIRECT, state: 'st-1',
    code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  };
}

/** Submits the login form as a browser would; returns the answer without following a redirect. */
function submit(base: string, fields: Record<string, string>) {
  return fetch(`${base}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

async function approvedCode(base: string, challenge: string, user = 'alice', password = 'alice-password'): Promise<string> {
  const response = await submit(base, { ...authorizeParams(challenge), username: user, password, decision: 'approve' });
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get('location')!);
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  assert.equal(location.searchParams.get('state'), 'st-1');
  return location.searchParams.get('code')!;
}

function exchange(base: string, code: string, verifier: string, authorization?: string | null, extra: Record<string, string> = {}) {
  return postToken(base, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, ...extra }, authorization);
}

test('GET /oauth/authorize shows a login form carrying the request, with Approve and Deny', async (t) => {
  const { base } = await startMock(t);
  const { challenge } = pkce();
  const response = await fetch(`${base}/oauth/authorize?${new URLSearchParams(authorizeParams(challenge, { state: '"><script>' }))}`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /text\/html/);
  const html = await response.text();
  assert.match(html, /<input name="username"/);
  assert.match(html, /type="password"/);
  assert.match(html, /value="approve">Approve</);
  assert.match(html, /value="deny">Deny</);
  assert.ok(html.includes(`value="${challenge}"`));
  assert.ok(html.includes('value="&quot;&gt;&lt;script&gt;"'), 'state is escaped');
  assert.ok(!html.includes('"><script>'));
});

test('approve with the right password: a code for that user; the exchange gives access and refresh tokens; users/me is that user, also after rotation', async (t) => {
  const { base, stats } = await startMock(t, {});
  const { verifier, challenge } = pkce();
  const code = await approvedCode(base, challenge, 'bob', 'bob-password');
  const response = await exchange(base, code, verifier);
  assert.equal(response.status, 200);
  const tokens = (await response.json()) as TokenAnswer;
  assert.ok(tokens.refresh_token);
  const me = (await (await callApi(base, '/api/v2/users/me', tokens.access_token)).json()) as { id: string; name: string };
  assert.equal(me.name, 'Bob');

  const refreshed = (await (await postToken(base, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! })).json()) as TokenAnswer;
  const meAgain = (await (await callApi(base, '/api/v2/users/me', refreshed.access_token)).json()) as { id: string };
  assert.equal(meAgain.id, me.id);
  assert.deepEqual(stats().usersMe, { [me.id]: 2 });
  assert.equal(stats().tokenRequests.byGrant.authorization_code, 1);
  assert.equal(stats().authorizationCodesIssued, 1);
});

test('a wrong password shows the form again with an error; no code', async (t) => {
  const { base, stats } = await startMock(t);
  const response = await submit(base, { ...authorizeParams(pkce().challenge), username: 'alice', password: 'nope', decision: 'approve' });
  assert.equal(response.status, 401);
  assert.match(await response.text(), /Wrong user name or password/);
  assert.equal(stats().authorizationCodesIssued, 0);
});

test('Deny redirects with access_denied and the state', async (t) => {
  const { base } = await startMock(t);
  const response = await submit(base, { ...authorizeParams(pkce().challenge), decision: 'deny' });
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get('location')!);
  assert.equal(location.searchParams.get('error'), 'access_denied');
  assert.equal(location.searchParams.get('state'), 'st-1');
  assert.equal(location.searchParams.get('code'), null);
});

test('an unknown client or an unregistered redirect URI gets an error page, never a redirect', async (t) => {
  const { base } = await startMock(t);
  const { challenge } = pkce();
  for (const extra of <Array<Record<string, string>>>[{ client_id: 'other' }, { redirect_uri: 'http://127.0.0.1:9999/callback' }, { redirect_uri: 'https://evil.example/cb' }]) {
    const response = await fetch(`${base}/oauth/authorize?${new URLSearchParams(authorizeParams(challenge, extra))}`, { redirect: 'manual' });
    assert.equal(response.status, 400, JSON.stringify(extra));
    assert.equal(response.headers.get('location'), null);
    assert.match(await response.text(), /invalid_request/);
  }
});

test('no PKCE, plain PKCE or another response_type redirect with invalid_request', async (t) => {
  const { base } = await startMock(t);
  const { challenge } = pkce();
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ code_challenge: '' }, /code_challenge must be 43/],
    [{ code_challenge_method: 'plain' }, /code_challenge_method must be S256/],
    [{ response_type: 'token' }, /response_type must be code/],
  ];
  for (const [extra, description] of cases) {
    const response = await fetch(`${base}/oauth/authorize?${new URLSearchParams(authorizeParams(challenge, extra))}`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    const location = new URL(response.headers.get('location')!);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description')!, description);
    assert.equal(location.searchParams.get('state'), 'st-1');
  }
});

test('a code is single use: the second exchange is invalid_grant "already used" and revokes the first access token', async (t) => {
  const { base } = await startMock(t);
  const { verifier, challenge } = pkce();
  const code = await approvedCode(base, challenge);
  const first = (await (await exchange(base, code, verifier)).json()) as TokenAnswer;
  const second = await exchange(base, code, verifier);
  assert.equal(second.status, 400);
  assert.deepEqual(await second.json(), {
    error: 'invalid_grant', description: 'authorization code was already used', error_description: 'authorization code was already used',
  });
  assert.equal((await callApi(base, '/api/v2/users/me', first.access_token)).status, 401);
});

test('a wrong code_verifier or redirect_uri is refused and spends the code', async (t) => {
  const { base } = await startMock(t);
  const { verifier, challenge } = pkce();
  const code = await approvedCode(base, challenge);
  const wrong = await exchange(base, code, pkce().verifier);
  assert.match(((await wrong.json()) as { description: string }).description, /code_verifier does not match/);
  const retry = await exchange(base, code, verifier);
  assert.match(((await retry.json()) as { description: string }).description, /already used/);

  const other = await approvedCode(base, challenge);
  const redirect = await exchange(base, other, verifier, undefined, { redirect_uri: 'http://127.0.0.1:8085/other' });
  assert.match(((await redirect.json()) as { description: string }).description, /redirect_uri does not match/);
});

test('a code expires 60 s after it was issued (injected clock)', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, {}, clock);
  const { verifier, challenge } = pkce();
  const code = await approvedCode(base, challenge);
  await clock.advance(CODE_LIFETIME_MS);
  const response = await exchange(base, code, verifier);
  assert.equal(response.status, 400);
  assert.match(((await response.json()) as { description: string }).description, /invalid or expired/);
});

test('a public client (client_id in the form, no secret) gets a refresh token only with publicClientRefreshTokens', async (t) => {
  for (const publicClientRefreshTokens of [false, true]) {
    const { base } = await startMock(t, { publicClientRefreshTokens });
    const { verifier, challenge } = pkce();
    const response = await exchange(base, await approvedCode(base, challenge), verifier, null, { client_id: 'demo-client' });
    assert.equal(response.status, 200);
    const tokens = (await response.json()) as TokenAnswer;
    assert.equal(tokens.refresh_token !== undefined, publicClientRefreshTokens);
  }
  const { base } = await startMock(t);
  const cc = await postToken(base, { grant_type: 'client_credentials', client_id: 'demo-client' }, null);
  assert.equal(cc.status, 401, 'client credentials need the secret');
});

test('--users sets who may log in, with ids and display names', async (t) => {
  const { parseMockArgs } = await import('../../src/mock/options.js');
  const { options } = parseMockArgs(['--users', 'dana:pw1,eve:pw2:Eve Example'], {});
  assert.deepEqual(options.users.map((u) => [u.username, u.name]), [['dana', 'Dana'], ['eve', 'Eve Example']]);
  assert.notEqual(options.users[0]!.id, options.users[1]!.id);
  assert.throws(() => parseMockArgs(['--users', 'dana'], {}), /--users: must be a comma-separated list/);
  const { base } = await startMock(t, { users: options.users });
  const { verifier, challenge } = pkce();
  const tokens = (await (await exchange(base, await approvedCode(base, challenge, 'eve', 'pw2'), verifier)).json()) as TokenAnswer;
  const me = (await (await callApi(base, '/api/v2/users/me', tokens.access_token)).json()) as { name: string };
  assert.equal(me.name, 'Eve Example');
});
