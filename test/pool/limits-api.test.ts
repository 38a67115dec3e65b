// readLimitFromLimitsApi against the project's mock upstream on port 0 (and, for answers the mock
// never gives, a bare HTTP server on port 0): every outcome is a value or a typed failure, never a
// throw, and no reason carries the token.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Agent } from 'undici';
import type { MockOptions } from '../../src/mock/options.js';
import {
  APP_USER_RATE_KEY,
  CLIENT_CREDENTIALS_RATE_KEY,
  PLATFORM_API_NAMESPACE,
  readLimitFromLimitsApi,
  type LimitsApiResult,
} from '../../src/pool/limits-api.js';
import { clientCredentialsToken, startMock } from '../mock/helpers.js';

async function mockWithToken(t: TestContext, options: Partial<MockOptions> = {}) {
  const mock = await startMock(t, options);
  return { ...mock, token: await clientCredentialsToken(mock.base) };
}

/** A server on port 0 that answers every request with `answer`. */
async function bareServer(t: TestContext, answer: (response: ServerResponse) => void): Promise<string> {
  const server = createServer((_request, response) => answer(response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function assertNoToken(result: LimitsApiResult, token: string): void {
  assert.ok(!JSON.stringify(result).includes(token), 'the result never carries the token');
}

test('reads client.credentials.token.rate.per.minute of the platform.api namespace by default: 300 on a default organisation', async (t) => {
  const { base, token, stats } = await mockWithToken(t);
  assert.deepEqual(await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: token, timeoutMs: 5_000 }), { perMinute: 300, source: 'limits-api' });
  assert.equal(stats().limitsApiRequests, 1);
  assert.equal(PLATFORM_API_NAMESPACE, 'platform.api');
});

test('reads a raised limit, through the dispatcher it is given, and another key when asked', async (t) => {
  const { base, token } = await mockWithToken(t, { limitsApiValue: 1_200 });
  const dispatcher = new Agent({ connections: 1 });
  t.after(() => dispatcher.close());
  const query = { apiBaseUrl: `${base}/`, accessToken: token, dispatcher, timeoutMs: 5_000 };
  assert.deepEqual(await readLimitFromLimitsApi({ ...query, key: CLIENT_CREDENTIALS_RATE_KEY }), { perMinute: 1_200, source: 'limits-api' });
  assert.deepEqual(await readLimitFromLimitsApi({ ...query, key: APP_USER_RATE_KEY }), { perMinute: 1_200, source: 'limits-api' });
});

test('a 403 is a forbidden failure quoting Genesys\'s code and the permission it names', async (t) => {
  const { base, token } = await mockWithToken(t, { limitsApiForbidden: true });
  const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: token, timeoutMs: 5_000 });
  assert.ok('failure' in result);
  assert.equal(result.failure, 'forbidden');
  assert.equal(result.status, 403);
  assert.match(result.reason, /HTTP 403: missing\.permissions .*limits:organization:view/);
  assertNoToken(result, token);
});

test('a 404 is an unknown-namespace failure', async (t) => {
  const { base, token } = await mockWithToken(t, { limitsNamespace: 'auth.api' });
  const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: token, timeoutMs: 5_000 });
  assert.deepEqual(result, {
    failure: 'unknown-namespace',
    reason: 'GET /api/v2/organizations/limits/namespaces/platform.api for client.credentials.token.rate.per.minute: HTTP 404: not.found The requested resource was not found.',
    status: 404,
  });
});

test('a listing without the key is a key-absent failure', async (t) => {
  const { base, token } = await mockWithToken(t);
  const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: token, timeoutMs: 5_000, key: 'no.such.key.per.minute' });
  assert.deepEqual(result, {
    failure: 'key-absent',
    reason: 'GET /api/v2/organizations/limits/namespaces/platform.api for no.such.key.per.minute: namespace platform.api lists no no.such.key.per.minute',
    status: 200,
  });
});

test('a refused token is an unauthorized failure that does not quote the token', async (t) => {
  const { base } = await mockWithToken(t);
  const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: 'not-a-valid-token', timeoutMs: 5_000 });
  assert.ok('failure' in result);
  assert.equal(result.failure, 'unauthorized');
  assertNoToken(result, 'not-a-valid-token');
});

test('an answer slower than the timeout is a timeout failure', async (t) => {
  const { base, token } = await mockWithToken(t, { apiLatencyMs: 2_000 });
  const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: token, timeoutMs: 100 });
  assert.deepEqual(result, {
    failure: 'timeout',
    reason: 'GET /api/v2/organizations/limits/namespaces/platform.api for client.credentials.token.rate.per.minute: no complete answer within 100 ms',
  });
});

test('a 200 that is not JSON, or JSON that is not a listing, is a bad-json failure', async (t) => {
  for (const body of ['<html>gateway</html>', '{"limits":[]}', 'null']) {
    const base = await bareServer(t, (response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
    const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: 'a-bearer-token', timeoutMs: 5_000 });
    assert.ok('failure' in result, body);
    assert.equal(result.failure, 'bad-json', body);
  }
});

test('a value that is not a positive number is a bad-value failure', async (t) => {
  const listing = { entities: [{ key: CLIENT_CREDENTIALS_RATE_KEY, namespace: 'platform.api', value: '300' }] };
  const base = await bareServer(t, (response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(listing)));
  const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: 'a-bearer-token', timeoutMs: 5_000 });
  assert.ok('failure' in result);
  assert.equal(result.failure, 'bad-value');
});

test('an answer too large to be a listing is refused without being read to the end', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const base = await bareServer(t, (response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    for (let i = 0; i < 8; i++) response.write(chunk);
    response.end();
  });
  const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: 'a-bearer-token', timeoutMs: 5_000 });
  assert.ok('failure' in result);
  assert.equal(result.failure, 'bad-json');
});

test('any other status is an http-error failure carrying the status', async (t) => {
  const base = await bareServer(t, (response) => response.writeHead(503).end());
  assert.deepEqual(await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: 'a-bearer-token', timeoutMs: 5_000 }), {
    failure: 'http-error',
    reason: 'GET /api/v2/organizations/limits/namespaces/platform.api for client.credentials.token.rate.per.minute: HTTP 503',
    status: 503,
  });
});

test('an upstream that echoes the token in its error message does not get it into the reason', async (t) => {
  const token = 'echoed-secret-token-value';
  const base = await bareServer(t, (response) =>
    response.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'missing.permissions', message: `token ${token} lacks it` })),
  );
  const result = await readLimitFromLimitsApi({ apiBaseUrl: base, accessToken: token, timeoutMs: 5_000 });
  assert.ok('failure' in result);
  assert.equal(result.failure, 'forbidden');
  assert.match(result.reason, /token \[token\] lacks it/);
  assertNoToken(result, token);
});

test('nothing listening is a network failure, not a throw', async () => {
  // A port nobody listens on: bind one, then close it.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const freePort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const result = await readLimitFromLimitsApi({ apiBaseUrl: `http://127.0.0.1:${freePort}`, accessToken: 'a-bearer-token', timeoutMs: 5_000 });
  assert.ok('failure' in result);
  assert.equal(result.failure, 'network');
  assert.match(result.reason, /ECONNREFUSED/);
});
