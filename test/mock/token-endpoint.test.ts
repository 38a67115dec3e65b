import assert from 'node:assert/strict';
import { test } from 'node:test';
import { basicAuth, callApi, clientCredentialsToken, mockClock, postToken, startMock, userToken, type TokenAnswer } from './helpers.js';

test('client credentials with valid Basic auth get an opaque bearer token with the configured lifetime', async (t) => {
  const { base } = await startMock(t);
  const response = await postToken(base, { grant_type: 'client_credentials' });
  assert.equal(response.status, 200);
  const body = (await response.json()) as TokenAnswer;
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type']);
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.expires_in, 86400);
  assert.match(body.access_token, /^[A-Za-z0-9_-]{43}$/, 'base64url of 32 random bytes, not a JWT');
});

test('a fractional lifetime is answered as fractional expires_in', async (t) => {
  const { base } = await startMock(t, { tokenLifetimeSeconds: 0.5 });
  const body = (await (await postToken(base, { grant_type: 'client_credentials' })).json()) as TokenAnswer;
  assert.equal(body.expires_in, 0.5);
});

test('each token request gets a different token and earlier tokens stay valid by default', async (t) => {
  const { base } = await startMock(t);
  const first = await clientCredentialsToken(base);
  const second = await clientCredentialsToken(base);
  assert.notEqual(first, second);
  assert.equal((await callApi(base, '/api/v2/tokens/me', first)).status, 200);
  assert.equal((await callApi(base, '/api/v2/tokens/me', second)).status, 200);
});

test('with revoke-on-issue a new client-credentials token revokes the older ones', async (t) => {
  const { base, stats } = await startMock(t, { revokeOnIssue: true });
  const first = await clientCredentialsToken(base);
  const second = await clientCredentialsToken(base);
  assert.equal((await callApi(base, '/api/v2/tokens/me', first)).status, 401);
  assert.equal((await callApi(base, '/api/v2/tokens/me', second)).status, 200);
  assert.equal(stats().tokensRevoked, 1);
});

test('missing Basic credentials are rejected with 401 invalid_client in the OAuth shape', async (t) => {
  const { base } = await startMock(t);
  const response = await postToken(base, { grant_type: 'client_credentials' }, null);
  assert.equal(response.status, 401);
  assert.deepEqual(await response.json(), {
    error: 'invalid_client',
    description: 'authentication failed',
    error_description: 'authentication failed',
  });
});

test('an unknown client id is rejected with 401 invalid_client "client not found"', async (t) => {
  const { base } = await startMock(t);
  const response = await postToken(base, { grant_type: 'client_credentials' }, basicAuth('someone-else', 'demo-secret'));
  assert.equal(response.status, 401);
  assert.equal(((await response.json()) as { description: string }).description, 'client not found');
});

test('a wrong secret is rejected with 401 invalid_client', async (t) => {
  const { base } = await startMock(t, { clientId: 'id', clientSecret: 'right' });
  const response = await postToken(base, { grant_type: 'client_credentials' }, basicAuth('id', 'wrong'));
  assert.equal(response.status, 401);
  assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
  assert.equal((await postToken(base, { grant_type: 'client_credentials' }, basicAuth('id', 'right'))).status, 200);
});

test('an unknown grant type is rejected with 400 unsupported_grant_type', async (t) => {
  const { base } = await startMock(t);
  const response = await postToken(base, { grant_type: 'password' });
  assert.equal(response.status, 400);
  assert.equal(((await response.json()) as { error: string }).error, 'unsupported_grant_type');
});

test('a body without grant_type is rejected with 400 invalid_request', async (t) => {
  const { base } = await startMock(t);
  const response = await postToken(base, {});
  assert.equal(response.status, 400);
  assert.equal(((await response.json()) as { error: string }).error, 'invalid_request');
});

test('the refresh grant returns a user-context token and a new refresh token', async (t) => {
  const { base } = await startMock(t);
  const body = await userToken(base);
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.expires_in, 86400);
  assert.ok(body.refresh_token && body.refresh_token !== 'demo-refresh-token');
  assert.equal((await callApi(base, '/api/v2/users/me', body.access_token)).status, 200);
});

test('with rotation a used refresh token is rejected with 400 invalid_grant and the new one works', async (t) => {
  const { base } = await startMock(t);
  const first = await userToken(base);
  const reuse = await postToken(base, { grant_type: 'refresh_token', refresh_token: 'demo-refresh-token' });
  assert.equal(reuse.status, 400);
  assert.equal(((await reuse.json()) as { error: string }).error, 'invalid_grant');
  const second = await userToken(base, first.refresh_token);
  assert.notEqual(second.refresh_token, first.refresh_token);
});

test('without rotation the same refresh token is returned and stays usable', async (t) => {
  const { base } = await startMock(t, { rotateRefreshTokens: false, refreshTokenSeed: 'seed' });
  const first = await userToken(base, 'seed');
  const second = await userToken(base, 'seed');
  assert.equal(first.refresh_token, 'seed');
  assert.equal(second.refresh_token, 'seed');
});

test('an unknown refresh token is rejected with 400 invalid_grant', async (t) => {
  const { base } = await startMock(t);
  const response = await postToken(base, { grant_type: 'refresh_token', refresh_token: 'made-up' });
  assert.equal(response.status, 400);
  assert.equal(((await response.json()) as { error: string }).error, 'invalid_grant');
});

test('a JSON body is refused because the token endpoint takes form bodies only', async (t) => {
  const { base } = await startMock(t);
  const response = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(), 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials' }),
  });
  assert.equal(response.status, 415);
});

test('token latency delays the token answer', async (t) => {
  const { base } = await startMock(t, { tokenLatencyMs: 150 });
  const started = performance.now();
  await clientCredentialsToken(base);
  assert.ok(performance.now() - started >= 140);
});

test('over the token rate limit the endpoint answers 429 with Retry-After until the window passes', async (t) => {
  const clock = mockClock();
  const { base, stats } = await startMock(t, { tokenRateLimit: 2, tokenRateWindowMs: 10_000 }, clock);
  await clientCredentialsToken(base);
  await clock.advance(4_000);
  await clientCredentialsToken(base);
  const limited = await postToken(base, { grant_type: 'client_credentials' });
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '6');
  assert.equal(((await limited.json()) as { code: string }).code, 'too.many.requests.retry.after');
  await clock.advance(6_000);
  assert.equal((await postToken(base, { grant_type: 'client_credentials' })).status, 200);
  assert.equal(stats().tokenRequests.rateLimited, 1);
});

test('every Nth token request fails with the injected status', async (t) => {
  const { base } = await startMock(t, { failTokenEvery: 3, failTokenStatus: 500 });
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await postToken(base, { grant_type: 'client_credentials' })).status);
  assert.deepEqual(statuses, [200, 200, 500, 200, 200, 500]);
});

test('an injected token failure has a Genesys ErrorBody and a correlation id', async (t) => {
  const { base } = await startMock(t, { failTokenEvery: 1 });
  const response = await postToken(base, { grant_type: 'client_credentials' });
  assert.equal(response.status, 503);
  const body = (await response.json()) as { code: string; contextId: string };
  assert.equal(body.code, 'service.unavailable');
  assert.equal(body.contextId, response.headers.get('inin-correlation-id'));
});

test('the token endpoint fails during the failure window and only then', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { failTokenWindow: { startMs: 1_000, endMs: 2_000 } }, clock);
  const statusAt = async (elapsedMs: number) => {
    await clock.advanceTo(elapsedMs);
    return (await postToken(base, { grant_type: 'client_credentials' })).status;
  };
  assert.equal(await statusAt(999), 200);
  assert.equal(await statusAt(1_000), 503);
  assert.equal(await statusAt(1_999), 503);
  assert.equal(await statusAt(2_000), 200);
});
