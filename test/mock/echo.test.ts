import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import type { EchoReport } from '../../src/mock/echo-route.js';
import { callApi, clientCredentialsToken, startMock } from './helpers.js';

async function startWithToken(t: Parameters<typeof startMock>[0]) {
  const mock = await startMock(t);
  return { ...mock, token: await clientCredentialsToken(mock.base) };
}

/** The echo's deterministic body, computed independently: byte i is i mod 256. */
function expectedBytes(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => i % 256));
}

test('echo reports method, path, raw query, headers and the body length and sha256', async (t) => {
  const { base, token } = await startWithToken(t);
  const response = await callApi(base, '/api/v2/echo/some/path?b=2&a=1&a=%20x', token, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'X-Custom': 'Value' },
    body: '{"hello":"world"}',
  });
  assert.equal(response.status, 200);
  const report = (await response.json()) as EchoReport;
  assert.equal(report.method, 'PUT');
  assert.equal(report.path, '/api/v2/echo/some/path');
  assert.equal(report.query, 'b=2&a=1&a=%20x');
  assert.equal(report.headers['x-custom'], 'Value');
  assert.equal(report.headers.authorization, `Bearer ${token}`);
  assert.equal(report.bodyLength, 17);
  assert.equal(report.bodySha256, createHash('sha256').update('{"hello":"world"}').digest('hex'));
});

test('echo answers every method, including PATCH, OPTIONS and DELETE', async (t) => {
  const { base, token } = await startWithToken(t);
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const response = await callApi(base, '/api/v2/echo/x', token, { method });
    assert.equal(response.status, 200, method);
    assert.equal(((await response.json()) as EchoReport).method, method);
  }
});

test('echo accepts any content type, including none', async (t) => {
  const { base, token } = await startWithToken(t);
  for (const contentType of ['application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', undefined]) {
    const headers = new Headers(contentType === undefined ? {} : { 'content-type': contentType });
    const body = new Uint8Array([1, 2, 3]);
    const response = await callApi(base, '/api/v2/echo/x', token, { method: 'POST', headers, body });
    assert.equal(response.status, 200, String(contentType));
    assert.equal(((await response.json()) as EchoReport).bodyLength, 3);
  }
});

test('echo streams a 5 MB chunked upload through the hash and returns its sha256', async (t) => {
  const { base, token } = await startWithToken(t);
  const chunk = Buffer.alloc(64 * 1024, 7);
  const chunks = 80; // 5 MiB
  const expected = createHash('sha256');
  for (let i = 0; i < chunks; i++) expected.update(chunk);
  const { statusCode, body } = await request(`${base}/api/v2/echo/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: Readable.from((function* upload() { for (let i = 0; i < chunks; i++) yield chunk; })()),
  });
  assert.equal(statusCode, 200);
  const report = (await body.json()) as EchoReport;
  assert.equal(report.bodyLength, chunks * chunk.length);
  assert.equal(report.bodySha256, expected.digest('hex'));
});

test('echo answers with the status from ?status=', async (t) => {
  const { base, token } = await startWithToken(t);
  const response = await callApi(base, '/api/v2/echo/x?status=503', token);
  assert.equal(response.status, 503);
  assert.equal(((await response.json()) as EchoReport).query, 'status=503');
});

test('echo answers ?bytes=N with N deterministic octet-stream bytes', async (t) => {
  const { base, token } = await startWithToken(t);
  const length = 3 * 64 * 1024 + 17;
  const response = await callApi(base, `/api/v2/echo/x?bytes=${length}`, token);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  assert.equal(response.headers.get('content-length'), String(length));
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), expectedBytes(length));
});

test('echo waits ?delayMs= before answering', async (t) => {
  const { base, token } = await startWithToken(t);
  const started = performance.now();
  await callApi(base, '/api/v2/echo/x?delayMs=200', token);
  assert.ok(performance.now() - started >= 190);
});

test('echo sets ?setHeader= response headers and keeps several Set-Cookie apart', async (t) => {
  const { base, token } = await startWithToken(t);
  const query = new URLSearchParams([
    ['setHeader', 'Set-Cookie:a=1; Path=/'],
    ['setHeader', 'set-cookie:b=2; HttpOnly'],
    ['setHeader', 'x-trace:abc'],
  ]);
  const response = await callApi(base, `/api/v2/echo/x?${query}`, token);
  assert.deepEqual(response.headers.getSetCookie(), ['a=1; Path=/', 'b=2; HttpOnly']);
  assert.equal(response.headers.get('x-trace'), 'abc');
});

test('echo rejects a malformed instruction with 400 bad.request', async (t) => {
  const { base, token } = await startWithToken(t);
  for (const query of ['status=abc', 'status=99', 'bytes=-1', 'delayMs=x', 'setHeader=novalue', 'setHeader=bad%20name:v']) {
    const response = await callApi(base, `/api/v2/echo/x?${query}`, token);
    assert.equal(response.status, 400, query);
    assert.equal(((await response.json()) as { code: string }).code, 'bad.request');
  }
});

test('echo requires a valid bearer token like every API route', async (t) => {
  const { base } = await startMock(t);
  assert.equal((await callApi(base, '/api/v2/echo/x', 'stale')).status, 401);
  assert.equal((await callApi(base, '/api/v2/echo/x', undefined, { method: 'POST', body: 'x' })).status, 401);
});
