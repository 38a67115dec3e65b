import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MockStats } from '../../src/mock/stats.js';
import { callApi, clientCredentialsToken, mockClock, postToken, startMock, userToken } from './helpers.js';

test('GET /__stats needs no token and starts from zero', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, {}, clock);
  const response = await fetch(`${base}/__stats`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    tokenRequests: { total: 0, ok: 0, failed: 0, rateLimited: 0, byGrant: { client_credentials: 0, refresh_token: 0, authorization_code: 0 } },
    refreshTokensReused: 0,
    authorizationCodesIssued: 0,
    usersMe: {},
    tokensIssued: 0,
    tokensRevoked: 0,
    activeTokens: 0,
    api: { total: 0, byStatus: {} },
    rateLimit: {
      mode: 'per-token',
      limit: 0,
      windowMs: 60_000,
      windowKind: 'fixed',
      budgetHeaders: 'none',
      rateLimited: { 'per-token': 0, 'per-client': 0, 'per-org': 0, 'per-user': 0 },
      byToken: [],
    },
    limitsApiRequests: 0,
    startedAt: '2026-01-01T00:00:00.000Z',
  } satisfies MockStats);
});

test('token requests are counted by outcome and by grant', async (t) => {
  const { base, stats } = await startMock(t, { tokenRateLimit: 4 });
  await clientCredentialsToken(base);
  await userToken(base);
  await postToken(base, { grant_type: 'refresh_token', refresh_token: 'demo-refresh-token' }); // reused: 400
  await postToken(base, { grant_type: 'password' }); // 400, no recognised grant
  await postToken(base, { grant_type: 'client_credentials' }); // fifth in the window: 429
  assert.deepEqual(stats().tokenRequests, {
    total: 5,
    ok: 2,
    failed: 2,
    rateLimited: 1,
    byGrant: { client_credentials: 2, refresh_token: 2, authorization_code: 0 },
  });
  assert.equal(stats().refreshTokensReused, 1, 'the seed, rotated away by the first refresh, was presented again');
  assert.equal(stats().tokensIssued, 2);
  assert.equal(stats().activeTokens, 2);
});

test('API answers are counted by status; /__stats and the token endpoint are not API answers', async (t) => {
  const { base, stats } = await startMock(t);
  const token = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', token);
  await callApi(base, '/api/v2/echo/x?status=201', token);
  await callApi(base, '/api/v2/tokens/me');
  await callApi(base, '/api/v2/tokens/me', 'unknown');
  await fetch(`${base}/__stats`);
  assert.deepEqual(stats().api, { total: 4, byStatus: { '200': 1, '201': 1, '401': 2 } });
});

test('POST /__reset zeroes the counters but keeps tokens valid', async (t) => {
  const { base, stats } = await startMock(t);
  const token = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', token);
  const response = await fetch(`${base}/__reset`, { method: 'POST' });
  assert.equal(response.status, 204);
  const after = stats();
  assert.equal(after.tokenRequests.total, 0);
  assert.equal(after.tokensIssued, 0);
  assert.deepEqual(after.api, { total: 0, byStatus: {} });
  assert.equal(after.activeTokens, 1);
  assert.equal((await callApi(base, '/api/v2/tokens/me', token)).status, 200);
});

test('reset restarts the every-Nth failure sequence', async (t) => {
  const { base, reset } = await startMock(t, { failTokenEvery: 2 });
  assert.equal((await postToken(base, { grant_type: 'client_credentials' })).status, 200);
  reset();
  assert.equal((await postToken(base, { grant_type: 'client_credentials' })).status, 200);
  assert.equal((await postToken(base, { grant_type: 'client_credentials' })).status, 503);
});

test('rate-limited answers are counted by mode and per token, named by issue serial, never by value', async (t) => {
  const { base, stats } = await startMock(t, { perTokenLimit: 2, perTokenWindowMs: 10_000 }, mockClock());
  const first = await clientCredentialsToken(base);
  const second = await clientCredentialsToken(base);
  for (let i = 0; i < 3; i++) await callApi(base, '/api/v2/tokens/me', first);
  await callApi(base, '/api/v2/tokens/me', second);
  const { rateLimit } = stats();
  assert.deepEqual(rateLimit, {
    mode: 'per-token',
    limit: 2,
    windowMs: 10_000,
    windowKind: 'fixed',
    budgetHeaders: 'none',
    rateLimited: { 'per-token': 1, 'per-client': 0, 'per-org': 0, 'per-user': 0 },
    byToken: [
      { token: 1, requests: 3, rateLimited: 1 },
      { token: 2, requests: 1, rateLimited: 0 },
    ],
  });
  const text = await (await fetch(`${base}/__stats`)).text();
  assert.ok(!text.includes(first) && !text.includes(second), '/__stats never shows a token');
});

test('POST /__reset zeroes the rate-limit counts but the windows keep counting', async (t) => {
  const { base, stats, reset } = await startMock(t, { perTokenLimit: 1, rateLimitMode: 'per-client', budgetHeaders: 'inin' }, mockClock());
  const token = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', token);
  await callApi(base, '/api/v2/tokens/me', token);
  reset();
  assert.deepEqual(stats().rateLimit.rateLimited, { 'per-token': 0, 'per-client': 0, 'per-org': 0, 'per-user': 0 });
  assert.deepEqual(stats().rateLimit.byToken, []);
  const response = await callApi(base, '/api/v2/tokens/me', token);
  assert.equal(response.status, 429);
  assert.equal(response.headers.get('inin-ratelimit-count'), '3');
  assert.deepEqual(stats().rateLimit.rateLimited, { 'per-token': 0, 'per-client': 1, 'per-org': 0, 'per-user': 0 });
});
