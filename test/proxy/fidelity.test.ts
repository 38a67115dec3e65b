import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import type { EchoReport } from '../../src/mock/echo-route.js';
import { startRig } from '../helpers/in-process.js';

// README "What it guarantees" 1: method, path, query, headers (minus hop-by-hop and the inbound
// Authorization) and body go upstream; status, headers and body come back unchanged and streamed.
const rig = await startRig();

async function echo(path: string, init: Parameters<typeof request>[1] = {}) {
  const response = await request(`${rig.proxyUrl}${path}`, init);
  return { status: response.statusCode, headers: response.headers, report: (await response.body.json()) as EchoReport };
}

for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
  test(`a ${method} request reaches the upstream with its method, path and query unchanged`, async () => {
    const { status, report } = await echo('/api/v2/echo/a/b%20c?x=1&y=%C3%A9&x=2', { method });
    assert.equal(status, 200);
    assert.equal(report.method, method);
    assert.equal(report.path, '/api/v2/echo/a/b%20c');
    assert.equal(report.query, 'x=1&y=%C3%A9&x=2');
  });
}

test('a HEAD request is forwarded and answered without a body', async () => {
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`, { method: 'HEAD' });
  assert.equal(response.statusCode, 200);
  assert.equal((await response.body.arrayBuffer()).byteLength, 0);
});

test('the inbound Authorization header is replaced by the shared bearer token', async () => {
  const { report } = await echo('/api/v2/echo/auth', { headers: { authorization: 'Bearer client-made-up' } });
  const sent = String(report.headers.authorization);
  assert.match(sent, /^Bearer [A-Za-z0-9_-]{20,}$/);
  assert.notEqual(sent, 'Bearer client-made-up');
});

test('end-to-end request headers pass through while hop-by-hop ones are stripped', async () => {
  // A raw socket: HTTP clients refuse to send some hop-by-hop headers themselves.
  const raw = await rawRequest(
    rig.proxyUrl,
    [
      'GET /api/v2/echo/headers HTTP/1.1',
      'Host: 127.0.0.1',
      'X-Custom: kept',
      'Accept: application/json',
      'Genesys-App: perf-suite',
      'Keep-Alive: timeout=5',
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'TE: trailers',
      'X-Drop-Me: listed in Connection, so hop-by-hop',
      'Connection: close, X-Drop-Me',
      '',
      '',
    ].join('\r\n'),
  );
  const report = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as EchoReport;
  assert.equal(report.headers['x-custom'], 'kept');
  assert.equal(report.headers['genesys-app'], 'perf-suite');
  assert.equal(report.headers.accept, 'application/json');
  for (const name of ['keep-alive', 'proxy-authorization', 'te', 'x-drop-me', 'x-sidecar-key', 'x-token-profile']) {
    assert.equal(report.headers[name], undefined, `${name} must not reach the upstream`);
  }
});

test('the upstream status, headers and repeated Set-Cookie come back unchanged', async () => {
  const response = await request(
    `${rig.proxyUrl}/api/v2/echo/status?status=418&setHeader=set-cookie:a=1&setHeader=set-cookie:b=2&setHeader=x-upstream:yes`,
  );
  await response.body.dump();
  assert.equal(response.statusCode, 418);
  assert.deepEqual(response.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(response.headers['x-upstream'], 'yes');
  assert.ok(response.headers['inin-correlation-id'], 'Genesys correlation id passes through');
});

test('an upstream 503 reaches the client once and unchanged (no hidden retries)', async () => {
  const before = rig.mock.stats().api.total;
  const response = await request(`${rig.proxyUrl}/api/v2/echo/unavailable?status=503&setHeader=retry-after:7`);
  await response.body.dump();
  assert.equal(response.statusCode, 503);
  assert.equal(response.headers['retry-after'], '7');
  assert.equal(rig.mock.stats().api.total - before, 1);
});

test('a 5 MB binary body streams through intact', async () => {
  const body = randomBytes(5 * 1024 * 1024);
  const { report } = await echo('/api/v2/echo/upload', {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
  assert.equal(report.bodyLength, body.length);
  assert.equal(report.bodySha256, createHash('sha256').update(body).digest('hex'));
});

test('a chunked request body of unknown length streams through intact', async () => {
  const parts = [randomBytes(100_000), randomBytes(300_000), randomBytes(7)];
  const { report } = await echo('/api/v2/echo/chunked', { method: 'PUT', body: Readable.from(parts) });
  assert.equal(report.bodyLength, 400_007);
  assert.equal(report.bodySha256, createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
});

test('a JSON body and its exact content type reach the upstream byte for byte', async () => {
  const json = '{"a": 1,  "b":[true,null]}';
  const { report } = await echo('/api/v2/echo/json', {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: json,
  });
  assert.equal(report.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(report.bodySha256, createHash('sha256').update(json).digest('hex'));
});

test('a multi-megabyte response body streams back intact', async () => {
  const size = 8 * 1024 * 1024 + 3;
  const response = await request(`${rig.proxyUrl}/api/v2/echo/download?bytes=${size}`);
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of response.body) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  assert.equal(length, size);
  const expected = createHash('sha256');
  for (let i = 0; i < size; i += 256) expected.update(Buffer.from(Array.from({ length: Math.min(256, size - i) }, (_, j) => j)));
  assert.equal(hash.digest('hex'), expected.digest('hex'));
});

test('an absolute-form or scheme-relative request target never leaves the configured upstream', async () => {
  for (const path of ['//evil.example/api/v2/echo/x', '/api/v2/echo/..%2F..%2Fx']) {
    const response = await request(`${rig.proxyUrl}${path}`);
    const text = await response.body.text();
    if (response.statusCode === 200) {
      const report = JSON.parse(text) as EchoReport;
      assert.equal(report.headers.host, new URL(rig.mockUrl).host, `${path} went to the configured upstream`);
    }
  }
  const before = rig.mock.stats().api.total;
  const raw = await rawRequest(rig.proxyUrl, 'GET http://evil.example/api/v2/echo/abs HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 (200|400|404)/);
  if (raw.startsWith('HTTP/1.1 200')) {
    assert.equal(rig.mock.stats().api.total - before, 1, 'only the configured upstream answered');
    assert.ok(raw.includes(new URL(rig.mockUrl).host));
  }
});

async function rawRequest(base: string, text: string): Promise<string> {
  const { connect } = await import('node:net');
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}
