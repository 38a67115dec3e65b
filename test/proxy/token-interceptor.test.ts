import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import Fastify from 'fastify';
import { Agent } from 'undici';
import { SidecarError } from '../../src/errors.js';
import { proxyPlugin } from '../../src/proxy/plugin.js';
import { MAX_HELD_BYTES } from '../../src/proxy/replay-handler.js';
import { carryPool, tokenInterceptor } from '../../src/proxy/token-interceptor.js';
import { testConfig, waitUntil } from '../helpers/in-process.js';
import { HandPool, ListMeter, startUpstream, tokenAgent } from './lease-fixtures.js';

// The token interceptor and its replay handler, in front of a real undici Agent and a real HTTP
// server, with a pool whose leases the test hands out.

/** The upstream answers 401 unless it gets one of `accepted` in Authorization. */
/** A pool holding token "old" (generation 1) whose slot hands back "new" (generation 2) after a 401. */
function rotatingPool() {
  const pool = new HandPool();
  pool.current = pool.slot.lease('old', 1);
  const newer = pool.slot.lease('new', 2);
  pool.slot.next = async () => newer;
  return { pool, newer };
}

function acceptOnly(...accepted: string[]) {
  return startUpstream((seen, response) => {
    const ok = accepted.includes(String(seen.headers.authorization));
    response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json', 'x-from': 'upstream' });
    response.end(JSON.stringify({ ok, body: seen.body }));
  });
}

test("the lease's value goes upstream in the lease's header, and the client's own Authorization does not", async () => {
  const upstream = await startUpstream((_seen, response) => response.end('ok'));
  const pool = new HandPool();
  pool.current = pool.slot.lease('key-1', 1, 'x-api-key');
  const response = await tokenAgent(new ListMeter()).request({
    origin: upstream.origin, path: '/a', method: 'GET', headers: carryPool({ authorization: 'Bearer client-made-up', accept: 'text/plain' }, pool),
  });
  await response.body.dump();
  assert.equal(upstream.seen[0]!.headers['x-api-key'], 'key-1');
  assert.equal(upstream.seen[0]!.headers.authorization, undefined);
  assert.equal(upstream.seen[0]!.headers.accept, 'text/plain');
});

test('a 401 is replayed once with the newer lease the slot hands back, and the client sees only the replay', async () => {
  const upstream = await acceptOnly('Bearer new');
  const { pool, newer } = rotatingPool();
  const meter = new ListMeter();
  const response = await tokenAgent(meter).request({ origin: upstream.origin, path: '/r', method: 'GET', headers: carryPool({}, pool) });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(await response.body.json(), { ok: true, body: '' });
  assert.deepEqual(upstream.seen.map((s) => s.headers.authorization), ['Bearer old', 'Bearer new']);
  assert.deepEqual(pool.slot.unauthorized.map((t) => t.accessToken), ['old']);
  assert.deepEqual(meter.replays, ['success']);
  assert.deepEqual(meter.responses, [401, 200]);
});

test('a buffered body is sent again, identical, on the replay', async () => {
  const upstream = await acceptOnly('Bearer new');
  const { pool, newer } = rotatingPool();
  const body = JSON.stringify({ hello: 'world' });
  const response = await tokenAgent(new ListMeter()).request({
    origin: upstream.origin, path: '/post', method: 'POST', body: Buffer.from(body), headers: carryPool({ 'content-type': 'application/json' }, pool),
  });
  assert.deepEqual(await response.body.json(), { ok: true, body });
  assert.deepEqual(upstream.seen.map((s) => s.body), [body, body]);
});

test('a body streamed with a Content-Length within the limit is buffered, so its 401 is replayed too', async () => {
  const upstream = await acceptOnly('Bearer new');
  const { pool, newer } = rotatingPool();
  const response = await tokenAgent(new ListMeter(), 100).request({
    origin: upstream.origin, path: '/post', method: 'POST', body: Readable.from([Buffer.from('abc'), Buffer.from('def')]), headers: carryPool({ 'content-length': '6' }, pool),
  });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(await response.body.json(), { ok: true, body: 'abcdef' });
});

test('a request with a body that comes before any token is counted by the pool once, though it is chosen again once its body is read', async () => {
  const upstream = await acceptOnly('Bearer first');
  const pool = new HandPool();
  const first = pool.slot.lease('first', 1);
  pool.waiting = async () => first;
  const response = await tokenAgent(new ListMeter(), 100).request({
    origin: upstream.origin, path: '/post', method: 'POST', body: Readable.from([Buffer.from('abc')]), headers: carryPool({ 'content-length': '3' }, pool),
  });
  assert.deepEqual(await response.body.json(), { ok: true, body: 'abc' });
  assert.equal(pool.leases, 1, 'lease() (which the sizer counts demand by) asked once for one request');
});

test('a second 401 reaches the client unchanged, headers and body', async () => {
  const upstream = await acceptOnly();
  const { pool, newer } = rotatingPool();
  const meter = new ListMeter();
  const response = await tokenAgent(meter).request({ origin: upstream.origin, path: '/r', method: 'GET', headers: carryPool({}, pool) });
  assert.equal(response.statusCode, 401);
  assert.equal(response.headers['x-from'], 'upstream');
  assert.deepEqual(await response.body.json(), { ok: false, body: '' });
  assert.equal(upstream.seen.length, 2, 'replayed once, not twice');
  assert.deepEqual(meter.replays, ['unauthorized']);
});

test('a 401 whose body outgrows what is held for a replay reaches the client whole, not replayed, and its token is still reported', async () => {
  // A body of MAX_HELD_BYTES and then some, with its Content-Length: what arrives must be all of it.
  const body = Buffer.alloc(MAX_HELD_BYTES * 3 + 17, 'x');
  const upstream = await startUpstream((seen, response) => {
    if (seen.headers.authorization === 'Bearer new') return response.end('replayed');
    response.writeHead(401, { 'content-type': 'text/plain', 'content-length': String(body.length), 'x-from': 'upstream' });
    response.end(body);
  });
  const { pool } = rotatingPool();
  const meter = new ListMeter();
  const response = await tokenAgent(meter).request({ origin: upstream.origin, path: '/r', method: 'GET', headers: carryPool({}, pool) });
  assert.equal(response.statusCode, 401);
  assert.equal(response.headers['x-from'], 'upstream');
  assert.ok(Buffer.from(await response.body.arrayBuffer()).equals(body), 'the whole body, byte for byte');
  assert.equal(upstream.seen.length, 1, 'not replayed');
  assert.deepEqual(pool.slot.unauthorized.map((t) => t.accessToken), ['old']);
  assert.deepEqual(meter.replays, ['not_replayable']);
});

test('when the slot has no newer token, the held 401 reaches the client as the upstream sent it', async () => {
  const upstream = await acceptOnly();
  const pool = new HandPool();
  pool.current = pool.slot.lease('old', 1);
  const meter = new ListMeter();
  const response = await tokenAgent(meter).request({ origin: upstream.origin, path: '/r', method: 'GET', headers: carryPool({}, pool) });
  assert.equal(response.statusCode, 401);
  assert.equal(response.headers['x-from'], 'upstream');
  assert.deepEqual(await response.body.json(), { ok: false, body: '' });
  assert.equal(upstream.seen.length, 1);
  assert.deepEqual(meter.replays, ['no_token']);
});

test('a streamed body of unknown length is not replayed: its 401 reaches the client and the token is still reported', async () => {
  const upstream = await acceptOnly('Bearer new');
  const { pool, newer } = rotatingPool();
  const meter = new ListMeter();
  const response = await tokenAgent(meter).request({
    origin: upstream.origin, path: '/stream', method: 'POST', body: Readable.from([Buffer.from('abc'), Buffer.from('def')]), headers: carryPool({}, pool),
  });
  assert.equal(response.statusCode, 401);
  assert.deepEqual(await response.body.json(), { ok: false, body: 'abcdef' });
  assert.equal(upstream.seen.length, 1);
  assert.deepEqual(pool.slot.unauthorized.map((t) => t.accessToken), ['old']);
  assert.deepEqual(meter.replays, ['not_replayable']);
});

test('with no token to be had, the request fails with the pool\'s 503 error and the upstream is not called', async () => {
  const upstream = await startUpstream((_seen, response) => response.end('ok'));
  const pool = new HandPool();
  pool.waiting = () => Promise.reject(new SidecarError('tokenUnavailable', 'no valid token', { retryAfterSeconds: 7 }));
  const failure = tokenAgent(new ListMeter()).request({ origin: upstream.origin, path: '/a', method: 'GET', headers: carryPool({}, pool) });
  await assert.rejects(failure, (err: unknown) => err instanceof SidecarError && err.status === 503 && err.retryAfterSeconds === 7);
  assert.equal(upstream.seen.length, 0);
});

test('through the proxy plugin, no token means a 503 JSON answer with Retry-After', async () => {
  const upstream = await startUpstream((_seen, response) => response.end('ok'));
  const pool = new HandPool();
  pool.waiting = () => Promise.reject(new SidecarError('tokenUnavailable', 'no valid token', { retryAfterSeconds: 7 }));
  const app = Fastify();
  await app.register(proxyPlugin, { config: testConfig(upstream.origin), poolOf: () => pool, dispatcher: tokenAgent(new ListMeter()) });
  const response = await app.inject({ method: 'GET', url: '/api/v2/users/me' });
  await app.close();
  assert.equal(response.statusCode, 503);
  assert.equal(response.headers['retry-after'], '7');
  assert.equal(response.json().error, 'token_unavailable');
  assert.equal(upstream.seen.length, 0);
});

test('a client that gives up while the replay waits for a token gets its abort, and the replay never goes out', async () => {
  const upstream = await acceptOnly('Bearer new', 'Bearer later');
  const pool = new HandPool();
  pool.current = pool.slot.lease('old', 1);
  let handOver: (lease: ReturnType<HandPool['slot']['lease']>) => void = () => {};
  pool.slot.next = () => new Promise((resolve) => (handOver = resolve));
  const meter = new ListMeter();
  const agent = tokenAgent(meter);
  const controller = new AbortController();
  const pending = agent.request({ origin: upstream.origin, path: '/slow', method: 'GET', headers: carryPool({}, pool), signal: controller.signal });
  await waitUntil(() => pool.slot.unauthorized.length === 1);
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  handOver(pool.slot.lease('new', 2));
  // A later request on the same single connection: had the replay gone out, it would arrive first.
  pool.current = pool.slot.lease('later', 3);
  const later = await agent.request({ origin: upstream.origin, path: '/later', method: 'GET', headers: carryPool({}, pool) });
  await later.body.dump();
  assert.deepEqual(upstream.seen.map((s) => s.url), ['/slow', '/later']);
});

test("every answer's rate-limit counters go to the slot whose token was sent", async () => {
  const upstream = await startUpstream((_seen, response) => {
    response.writeHead(200, { 'ININ-RateLimit-Allowed': '300', 'inin-ratelimit-count': '12', 'inin-ratelimit-reset': '42' });
    response.end();
  });
  const pool = new HandPool();
  pool.current = pool.slot.lease('t', 1);
  const response = await tokenAgent(new ListMeter()).request({ origin: upstream.origin, path: '/a', method: 'GET', headers: carryPool({}, pool) });
  await response.body.dump();
  assert.deepEqual(pool.slot.rateLimits, [[300, 12, 42]]);
});

test('a request without a chosen pool fails without reaching the upstream', async () => {
  const upstream = await startUpstream((_seen, response) => response.end('ok'));
  await assert.rejects(tokenAgent(new ListMeter()).request({ origin: upstream.origin, path: '/a', method: 'GET' }), /no token pool/);
  assert.equal(upstream.seen.length, 0);
});

test("composed with undici's own compose(), the interceptor sets the token and replays a 401 the same way", async () => {
  const upstream = await acceptOnly('Bearer new');
  const { pool, newer } = rotatingPool();
  const agent = new Agent({ connections: 1 });
  after(() => agent.close());
  const meter = new ListMeter();
  const response = await agent.compose(tokenInterceptor({ meter, replayBodyLimitBytes: 1024 })).request({ origin: upstream.origin, path: '/r', method: 'GET', headers: carryPool({}, pool) });
  assert.equal(response.statusCode, 200);
  await response.body.dump();
  assert.deepEqual(upstream.seen.map((s) => s.headers.authorization), ['Bearer old', 'Bearer new']);
  assert.deepEqual(meter.replays, ['success']);
});
