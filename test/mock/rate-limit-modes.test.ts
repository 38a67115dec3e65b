// Whom the mock's API limit counts (--rate-limit-mode), how it combines with an identity provider
// that revokes older tokens on issue (--revoke-on-issue), and the limit a 429 names (--limit-in-429).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RATE_LIMIT_MODES } from '../../src/mock/rate-limits.js';
import { callApi, clientCredentialsToken, loggedInUserToken, mockClock, startMock, userToken } from './helpers.js';

const ME = '/api/v2/tokens/me';

async function statuses(base: string, token: string, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await callApi(base, ME, token)).status);
  return seen;
}

test('per-org: every token shares one window, client-credentials and user tokens alike', async (t) => {
  const clock = mockClock();
  const { base, stats } = await startMock(t, { perTokenLimit: 3, perTokenWindowMs: 10_000, rateLimitMode: 'per-org' }, clock);
  const first = await clientCredentialsToken(base);
  const second = await clientCredentialsToken(base);
  const user = (await userToken(base)).access_token;
  assert.deepEqual([...(await statuses(base, first, 1)), ...(await statuses(base, second, 1)), ...(await statuses(base, user, 2))], [200, 200, 200, 429]);
  assert.deepEqual(await statuses(base, second, 1), [429], 'a token that has not been used yet is refused as well');
  await clock.advance(10_000);
  assert.deepEqual(await statuses(base, user, 1), [200], 'the next window opens for everyone');
  assert.deepEqual(stats().rateLimit.rateLimited, { 'per-token': 0, 'per-client': 0, 'per-org': 2, 'per-user': 0 });
});

test('per-user: one user\'s tokens share one window per client, so a second token of that user does not help', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 2, perTokenWindowMs: 10_000, rateLimitMode: 'per-user' }, clock);
  const aliceFirst = (await loggedInUserToken(base, 'alice')).access_token;
  const aliceSecond = (await loggedInUserToken(base, 'alice')).access_token;
  assert.deepEqual([...(await statuses(base, aliceFirst, 1)), ...(await statuses(base, aliceSecond, 2))], [200, 200, 429]);
  await clock.advance(10_000);
  assert.deepEqual(await statuses(base, aliceSecond, 1), [200]);
});

test('per-user: another user has a window of their own', async (t) => {
  const { base, stats } = await startMock(t, { perTokenLimit: 2, perTokenWindowMs: 10_000, rateLimitMode: 'per-user' }, mockClock());
  const alice = (await loggedInUserToken(base, 'alice')).access_token;
  const bob = (await loggedInUserToken(base, 'bob')).access_token;
  assert.deepEqual(await statuses(base, alice, 3), [200, 200, 429]);
  assert.deepEqual(await statuses(base, bob, 3), [200, 200, 429]);
  assert.deepEqual(stats().rateLimit.rateLimited, { 'per-token': 0, 'per-client': 0, 'per-org': 0, 'per-user': 2 });
});

test('per-user: a refresh keeps the user, so the refreshed token continues the user\'s window', async (t) => {
  const { base } = await startMock(t, { perTokenLimit: 2, perTokenWindowMs: 10_000, rateLimitMode: 'per-user' }, mockClock());
  const first = await userToken(base);
  assert.deepEqual(await statuses(base, first.access_token, 2), [200, 200]);
  const refreshed = await userToken(base, first.refresh_token);
  assert.deepEqual(await statuses(base, refreshed.access_token, 1), [429]);
});

test('per-user: client-credentials tokens are not counted with any user but per token, each with its own window', async (t) => {
  const { base, stats } = await startMock(t, { perTokenLimit: 2, perTokenWindowMs: 10_000, rateLimitMode: 'per-user' }, mockClock());
  const user = (await userToken(base)).access_token;
  assert.deepEqual(await statuses(base, user, 3), [200, 200, 429]);
  const first = await clientCredentialsToken(base);
  const second = await clientCredentialsToken(base);
  assert.deepEqual(await statuses(base, first, 3), [200, 200, 429]);
  assert.deepEqual(await statuses(base, second, 2), [200, 200], 'a second client-credentials token brings its own budget');
  assert.deepEqual(stats().rateLimit.rateLimited, { 'per-token': 1, 'per-client': 0, 'per-org': 0, 'per-user': 1 });
});

for (const mode of RATE_LIMIT_MODES) {
  test(`revoke-on-issue combines with the ${mode} limit: the old token answers 401, the new one is counted as the mode says`, async (t) => {
    const clock = mockClock();
    const { base, stats } = await startMock(
      t,
      { perTokenLimit: 2, perTokenWindowMs: 10_000, rateLimitMode: mode, revokeOnIssue: true, budgetHeaders: 'inin' },
      clock,
    );
    const old = await clientCredentialsToken(base);
    assert.deepEqual(await statuses(base, old, 2), [200, 200]);
    const fresh = await clientCredentialsToken(base);
    const revoked = await callApi(base, ME, old);
    assert.equal(revoked.status, 401, 'the revoked token is refused for what it is, not rate limited');
    assert.equal(((await revoked.json()) as { code: string }).code, 'bad.credentials');
    assert.equal(revoked.headers.get('inin-ratelimit-count'), null, 'a refused token is not counted');
    const shared = mode === 'per-client' || mode === 'per-org';
    const first = await callApi(base, ME, fresh);
    // A window shared by the client or the organisation outlives the revoked token; a token's own does not.
    assert.deepEqual([first.status, first.headers.get('inin-ratelimit-count')], shared ? [429, '3'] : [200, '1']);
    await clock.advance(10_000);
    assert.deepEqual(await statuses(base, fresh, 3), [200, 200, 429]);
    assert.equal(stats().tokensRevoked, 1);
  });
}

test('revoke-on-issue with per-user: user tokens are not revoked by a client-credentials issue and keep their user\'s window', async (t) => {
  const { base } = await startMock(t, { perTokenLimit: 2, perTokenWindowMs: 10_000, rateLimitMode: 'per-user', revokeOnIssue: true }, mockClock());
  const user = (await userToken(base)).access_token;
  assert.deepEqual(await statuses(base, user, 1), [200]);
  await clientCredentialsToken(base);
  await clientCredentialsToken(base);
  assert.deepEqual(await statuses(base, user, 2), [200, 429]);
});

test('by default a 429 body is exactly the normalized one, naming no limit', async (t) => {
  const { base } = await startMock(t, { perTokenLimit: 1, perTokenWindowMs: 60_000 }, mockClock());
  const token = await clientCredentialsToken(base);
  await callApi(base, ME, token);
  const body = (await (await callApi(base, ME, token)).json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['code', 'contextId', 'details', 'errors', 'message', 'status']);
});

test('with --limit-in-429 the body names the limit that refused the request, its value per minute', async (t) => {
  const cases = [
    { mode: 'per-token', user: false, key: 'client.credentials.token.rate.per.minute' },
    { mode: 'per-token', user: true, key: 'token.rate.per.minute' },
    { mode: 'per-user', user: true, key: 'org.app.user.rate.per.minute' },
    { mode: 'per-user', user: false, key: 'client.credentials.token.rate.per.minute' },
    { mode: 'per-client', user: false, key: 'mock.client.rate.per.minute' },
    { mode: 'per-org', user: false, key: 'mock.org.rate.per.minute' },
  ] as const;
  for (const { mode, user, key } of cases) {
    const { base } = await startMock(
      t,
      { perTokenLimit: 50, perTokenWindowMs: 10_000, rateLimitMode: mode, limitIn429: true, limitsNamespace: 'test.namespace' },
      mockClock(),
    );
    const token = user ? (await userToken(base)).access_token : await clientCredentialsToken(base);
    await statuses(base, token, 50);
    const refused = await callApi(base, ME, token);
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { code: string; limit: unknown };
    assert.equal(body.code, 'too.many.requests.retry.after');
    assert.deepEqual(body.limit, { key, namespace: 'test.namespace', value: 300 }, `${mode}, ${user ? 'user' : 'client-credentials'} token`);
  }
});
