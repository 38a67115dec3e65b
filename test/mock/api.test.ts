import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callApi, clientCredentialsToken, mockClock, startMock, userToken } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('a request without Authorization gets 401 authentication.required with a correlation id', async (t) => {
  const { base } = await startMock(t);
  const response = await callApi(base, '/api/v2/tokens/me');
  assert.equal(response.status, 401);
  const correlationId = response.headers.get('inin-correlation-id');
  assert.match(correlationId ?? '', UUID);
  assert.deepEqual(await response.json(), {
    message: 'No authentication bearer token specified in authorization header.',
    code: 'authentication.required',
    status: 401,
    contextId: correlationId,
    details: [],
    errors: [],
  });
});

test('an unknown bearer token gets 401 bad.credentials', async (t) => {
  const { base } = await startMock(t);
  const response = await callApi(base, '/api/v2/tokens/me', 'not-a-token');
  assert.equal(response.status, 401);
  assert.deepEqual(await response.json(), {
    message: 'Invalid login credentials.',
    code: 'bad.credentials',
    status: 401,
    contextId: response.headers.get('inin-correlation-id'),
    details: [],
    errors: [],
  });
});

test('a token with a fractional lifetime is valid until exactly its expiry on the injected clock', async (t) => {
  const clock = mockClock();
  const { base, stats } = await startMock(t, { tokenLifetimeSeconds: 0.5 }, clock);
  const token = await clientCredentialsToken(base);
  await clock.advance(499);
  assert.equal((await callApi(base, '/api/v2/tokens/me', token)).status, 200);
  await clock.advance(1);
  const expired = await callApi(base, '/api/v2/tokens/me', token);
  assert.equal(expired.status, 401);
  assert.equal(((await expired.json()) as { code: string }).code, 'bad.credentials');
  assert.equal(stats().activeTokens, 0);
});

test('GET /api/v2/tokens/me answers TokenInfo for a client-credentials token', async (t) => {
  const { base } = await startMock(t);
  const response = await callApi(base, '/api/v2/tokens/me', await clientCredentialsToken(base));
  assert.equal(response.status, 200);
  const info = (await response.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(info).sort(), ['OAuthClient', 'authorizedScope', 'homeOrganization', 'organization']);
  assert.deepEqual(info.authorizedScope, []);
  assert.equal((info.OAuthClient as { id: string }).id, 'demo-client');
});

test('HEAD /api/v2/tokens/me answers 200 without a body', async (t) => {
  const { base } = await startMock(t);
  const response = await callApi(base, '/api/v2/tokens/me', await clientCredentialsToken(base), { method: 'HEAD' });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), '');
});

test('DELETE /api/v2/tokens/me answers 204 and revokes the token it was called with', async (t) => {
  const { base, stats } = await startMock(t);
  const token = await clientCredentialsToken(base);
  const other = await clientCredentialsToken(base);
  const response = await callApi(base, '/api/v2/tokens/me', token, { method: 'DELETE' });
  assert.equal(response.status, 204);
  assert.equal(await response.text(), '');
  assert.equal((await callApi(base, '/api/v2/tokens/me', token)).status, 401);
  assert.equal((await callApi(base, '/api/v2/tokens/me', other)).status, 200);
  assert.equal(stats().tokensRevoked, 1);
});

test('GET /api/v2/users/me with a client-credentials token gets 400 requiring a user context', async (t) => {
  const { base } = await startMock(t);
  const response = await callApi(base, '/api/v2/users/me', await clientCredentialsToken(base));
  assert.equal(response.status, 400);
  assert.deepEqual(await response.json(), {
    message: 'This request requires a user context. Client credentials cannot be used for requests to this resource.',
    code: 'bad.request',
    status: 400,
    contextId: response.headers.get('inin-correlation-id'),
    details: [],
    errors: [],
  });
});

test('GET /api/v2/users/me with a user-context token answers the user', async (t) => {
  const { base } = await startMock(t);
  const { access_token } = await userToken(base);
  const response = await callApi(base, '/api/v2/users/me', access_token);
  assert.equal(response.status, 200);
  const user = (await response.json()) as { id: string; state: string };
  assert.match(user.id, UUID);
  assert.equal(user.state, 'active');
});

test('an unknown /api/v2 path with a valid token gets a 404 not.found ErrorBody', async (t) => {
  const { base } = await startMock(t);
  const response = await callApi(base, '/api/v2/routing/queues', await clientCredentialsToken(base), { method: 'POST', body: '{}' });
  assert.equal(response.status, 404);
  const body = (await response.json()) as { code: string; status: number; contextId: string };
  assert.equal(body.code, 'not.found');
  assert.equal(body.contextId, response.headers.get('inin-correlation-id'));
});

test('without a per-token limit no budget headers are sent, even when asked for', async (t) => {
  const { base } = await startMock(t, { budgetHeaders: 'inin' });
  const response = await callApi(base, '/api/v2/tokens/me', await clientCredentialsToken(base));
  assert.equal(response.headers.get('inin-ratelimit-allowed'), null);
});

test('with a per-token limit and --budget-headers inin every answer carries inin-ratelimit allowed, count and reset seconds', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 300, budgetHeaders: 'inin' }, clock);
  const token = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', token);
  await clock.advance(15_500);
  const response = await callApi(base, '/api/v2/tokens/me', token);
  assert.equal(response.headers.get('inin-ratelimit-allowed'), '300');
  assert.equal(response.headers.get('inin-ratelimit-count'), '2');
  assert.equal(response.headers.get('inin-ratelimit-reset'), '45');
});

test('over the per-token limit the API answers the normalized Genesys 429 with Retry-After', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 2, perTokenWindowMs: 60_000 }, clock);
  const token = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', token);
  await callApi(base, '/api/v2/tokens/me', token);
  await clock.advance(18_000);
  const response = await callApi(base, '/api/v2/tokens/me', token);
  assert.equal(response.status, 429);
  assert.equal(response.headers.get('retry-after'), '42');
  assert.deepEqual(await response.json(), {
    message: 'Rate limit exceeded the maximum. Retry the request in [42] seconds',
    code: 'too.many.requests.retry.after',
    status: 429,
    contextId: response.headers.get('inin-correlation-id'),
    details: [],
    errors: [],
  });
});

test('the per-token limit counts each token separately and reopens after its window', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 1, perTokenWindowMs: 1_000 }, clock);
  const first = await clientCredentialsToken(base);
  const second = await clientCredentialsToken(base);
  assert.equal((await callApi(base, '/api/v2/tokens/me', first)).status, 200);
  assert.equal((await callApi(base, '/api/v2/tokens/me', first)).status, 429);
  assert.equal((await callApi(base, '/api/v2/tokens/me', second)).status, 200);
  await clock.advance(1_000);
  assert.equal((await callApi(base, '/api/v2/tokens/me', first)).status, 200);
});

test('per-client mode: every token of the client shares one window, so a new token starts with the others\' count', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 3, perTokenWindowMs: 10_000, rateLimitMode: 'per-client', budgetHeaders: 'inin' }, clock);
  const first = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', first);
  await callApi(base, '/api/v2/tokens/me', first);
  await clock.advance(4_000);
  const second = await clientCredentialsToken(base);
  const fresh = await callApi(base, '/api/v2/tokens/me', second);
  assert.equal(fresh.status, 200);
  assert.deepEqual(
    ['allowed', 'count', 'reset'].map((name) => fresh.headers.get(`inin-ratelimit-${name}`)),
    ['3', '3', '6'],
  );
  const over = await callApi(base, '/api/v2/tokens/me', first);
  assert.equal(over.status, 429);
  assert.equal(over.headers.get('retry-after'), '6');
  assert.equal(((await over.json()) as { code: string }).code, 'too.many.requests.retry.after');
  await clock.advance(6_000);
  assert.equal((await callApi(base, '/api/v2/tokens/me', second)).headers.get('inin-ratelimit-count'), '1');
});

test('per-token mode keeps Genesys\'s ratio on a short window: 50 per 10 s, then the next window opens', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 50, perTokenWindowMs: 10_000, budgetHeaders: 'inin' }, clock);
  const token = await clientCredentialsToken(base);
  const statuses: number[] = [];
  for (let i = 0; i < 51; i++) statuses.push((await callApi(base, '/api/v2/tokens/me', token)).status);
  assert.deepEqual([statuses.filter((s) => s === 200).length, statuses.at(-1)], [50, 429]);
  await clock.advance(10_000);
  const next = await callApi(base, '/api/v2/tokens/me', token);
  assert.deepEqual([next.status, next.headers.get('inin-ratelimit-count'), next.headers.get('inin-ratelimit-reset')], [200, '1', '10']);
});

test('the rate-limit headers come on every answer behind the gate, errors included', async (t) => {
  const { base } = await startMock(t, { perTokenLimit: 300, budgetHeaders: 'inin' });
  const token = await clientCredentialsToken(base);
  for (const path of ['/api/v2/users/me', '/api/v2/nowhere', '/api/v2/echo/x?status=503']) {
    const response = await callApi(base, path, token);
    assert.equal(response.headers.get('inin-ratelimit-allowed'), '300', path);
  }
});

test('every Nth API request fails with the injected status', async (t) => {
  const { base } = await startMock(t, { failApiEvery: 2, failApiStatus: 502 });
  const token = await clientCredentialsToken(base);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await callApi(base, '/api/v2/tokens/me', token)).status);
  assert.deepEqual(statuses, [200, 502, 200, 502]);
});

test('an injected API 429 carries the normalized body and Retry-After 1', async (t) => {
  const { base } = await startMock(t, { failApiEvery: 1, failApiStatus: 429 });
  const response = await callApi(base, '/api/v2/tokens/me', await clientCredentialsToken(base));
  assert.equal(response.status, 429);
  assert.equal(response.headers.get('retry-after'), '1');
  assert.equal(((await response.json()) as { message: string }).message, 'Rate limit exceeded the maximum. Retry the request in [1] seconds');
});

test('an injected API 401 looks like a revoked token so clients rehearse their 401 path', async (t) => {
  const { base } = await startMock(t, { failApiEvery: 1, failApiStatus: 401 });
  const response = await callApi(base, '/api/v2/tokens/me', await clientCredentialsToken(base));
  assert.equal(response.status, 401);
  assert.equal(((await response.json()) as { code: string }).code, 'bad.credentials');
});

test('API routes fail during the API failure window and only then', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { failApiWindow: { startMs: 500, endMs: 800 } }, clock);
  const token = await clientCredentialsToken(base);
  const statusAt = async (elapsedMs: number) => {
    await clock.advanceTo(elapsedMs);
    return (await callApi(base, '/api/v2/tokens/me', token)).status;
  };
  assert.deepEqual([await statusAt(499), await statusAt(500), await statusAt(799), await statusAt(800)], [200, 503, 503, 200]);
});

test('API latency delays every API answer', async (t) => {
  const { base } = await startMock(t, { apiLatencyMs: 150 });
  const started = performance.now();
  await callApi(base, '/api/v2/tokens/me');
  assert.ok(performance.now() - started >= 140);
});
