// The mock's Limits API: GET /api/v2/organizations/limits/namespaces/{namespace} (and /defaults) in
// the SDKs' LimitsEntityListing shape, behind the same gate as every API route.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callApi, clientCredentialsToken, mockClock, startMock, userToken } from './helpers.js';

const EFFECTIVE = '/api/v2/organizations/limits/namespaces/platform.api';

function listing(namespace: string, perMinute: number) {
  return {
    entities: [
      { key: 'client.credentials.token.rate.per.minute', namespace, value: perMinute },
      { key: 'token.rate.per.minute', namespace, value: perMinute },
      { key: 'org.app.user.rate.per.minute', namespace, value: perMinute },
      { key: 'request.bytes.max', namespace, value: 512_000 },
    ],
  };
}

test('without a limit set, the effective limits are Genesys\'s defaults: 300 a minute', async (t) => {
  const { base, stats } = await startMock(t);
  const response = await callApi(base, EFFECTIVE, await clientCredentialsToken(base));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /application\/json/);
  assert.ok(response.headers.get('inin-correlation-id'));
  assert.deepEqual(await response.json(), listing('platform.api', 300));
  assert.equal(stats().limitsApiRequests, 1);
});

test('the effective value is the enforced limit scaled to a minute: 50 per 10 s reads 300, 20 per 10 s reads 120', async (t) => {
  for (const [limit, perMinute] of [[50, 300], [20, 120]] as const) {
    const { base } = await startMock(t, { perTokenLimit: limit, perTokenWindowMs: 10_000 });
    assert.deepEqual(await (await callApi(base, EFFECTIVE, await clientCredentialsToken(base))).json(), listing('platform.api', perMinute));
  }
});

test('--limits-api-value reports a raised limit whatever is enforced; /defaults still reports Genesys\'s defaults', async (t) => {
  const { base } = await startMock(t, { perTokenLimit: 50, perTokenWindowMs: 10_000, limitsApiValue: 1_200 });
  const token = await clientCredentialsToken(base);
  assert.deepEqual(await (await callApi(base, EFFECTIVE, token)).json(), listing('platform.api', 1_200));
  const defaults = await callApi(base, `${EFFECTIVE}/defaults`, token);
  assert.equal(defaults.status, 200);
  assert.deepEqual(await defaults.json(), listing('platform.api', 300));
});

test('--limits-namespace moves the limits; any other namespace is a Genesys-shaped 404', async (t) => {
  const { base, stats } = await startMock(t, { limitsNamespace: 'auth.api' });
  const token = await clientCredentialsToken(base);
  assert.deepEqual(await (await callApi(base, '/api/v2/organizations/limits/namespaces/auth.api', token)).json(), listing('auth.api', 300));
  const other = await callApi(base, EFFECTIVE, token);
  assert.equal(other.status, 404);
  const body = (await other.json()) as { code: string; status: number; contextId: string };
  assert.deepEqual([body.code, body.status, body.contextId], ['not.found', 404, other.headers.get('inin-correlation-id')]);
  assert.equal(stats().limitsApiRequests, 2);
});

test('--limits-api-forbidden answers 403 missing.permissions naming limits:organization:view, for both routes', async (t) => {
  const { base, stats } = await startMock(t, { limitsApiForbidden: true });
  const token = await clientCredentialsToken(base);
  for (const path of [EFFECTIVE, `${EFFECTIVE}/defaults`]) {
    const response = await callApi(base, path, token);
    assert.equal(response.status, 403, path);
    assert.deepEqual(await response.json(), {
      message: 'Unable to perform the requested action. You are missing the following permission(s): [limits:organization:view]',
      code: 'missing.permissions',
      status: 403,
      contextId: response.headers.get('inin-correlation-id'),
      details: [],
      errors: [],
    });
  }
  assert.deepEqual(stats().api.byStatus, { '403': 2 });
  assert.equal(stats().limitsApiRequests, 2);
});

test('the Limits API needs a valid bearer token like every API route, and a refused call is not counted as a Limits API request', async (t) => {
  const { base, stats } = await startMock(t);
  assert.equal((await callApi(base, EFFECTIVE)).status, 401);
  assert.equal((await callApi(base, EFFECTIVE, 'made-up')).status, 401);
  assert.equal((await callApi(base, EFFECTIVE, (await userToken(base)).access_token)).status, 200, 'a user token may read it too');
  assert.equal(stats().limitsApiRequests, 1);
});

test('a Limits API call counts against the token\'s rate limit like any other call', async (t) => {
  const { base } = await startMock(t, { perTokenLimit: 1, perTokenWindowMs: 60_000 }, mockClock());
  const token = await clientCredentialsToken(base);
  assert.equal((await callApi(base, EFFECTIVE, token)).status, 200);
  assert.equal((await callApi(base, EFFECTIVE, token)).status, 429);
});
