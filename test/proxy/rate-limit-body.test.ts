import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_429_BODY_BYTES } from '../../src/proxy/replay-handler.js';
import { carryPool } from '../../src/proxy/token-interceptor.js';
import { HandPool, ListMeter, startUpstream, tokenAgent } from './lease-fixtures.js';

// What a 429's body names (docs/genesys.md §5: Genesys's error body may carry `limit {key, namespace,
// value}`, and its message may spell the key), read by the replay handler before it decides, through
// a real undici Agent and a real HTTP server; and that no other answer waits for its body.

/** Deadlocks (an answer held until a body that waits for the client) fail here, not by hanging. */
const NO_HANG = { timeout: 10_000 };

function genesys429(extra: Record<string, unknown>) {
  return JSON.stringify({ message: 'Rate limit exceeded the maximum. Retry the request in [7] seconds', code: 'too.many.requests.retry.after', status: 429, contextId: 'c-1', details: [], errors: [], ...extra });
}

/** A resolvable promise, for an upstream that waits on the client. */
function signal() {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fired, fire };
}

test('a 429 whose body names the per-token limit reaches the slot with its name and value, and is replayed on another slot', NO_HANG, async () => {
  const key = 'client.credentials.token.rate.per.minute';
  const upstream = await startUpstream((seen, response) => {
    if (seen.headers.authorization !== 'Bearer spent') return void response.end('ok');
    response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
    response.end(genesys429({ limit: { key, namespace: 'platform.api', value: 300 } }));
  });
  const pool = new HandPool();
  pool.current = pool.slot.lease('spent', 1);
  pool.replayLease = pool.slot.lease('fresh', 2);
  // The slot's answer depends on the name: a replay proves the name was read before the decision.
  pool.slot.ownBudget = (named) => named?.key === key;
  const meter = new ListMeter();
  const response = await tokenAgent(meter).request({ origin: upstream.origin, path: '/a', method: 'GET', headers: carryPool({}, pool) });
  assert.equal(response.statusCode, 200);
  assert.equal(await response.body.text(), 'ok');
  assert.deepEqual(pool.slot.limited, [{ allowed: Number.NaN, count: Number.NaN, retryAfterSeconds: 7, named: { key, value: 300 } }]);
  assert.deepEqual(upstream.seen.map((s) => s.headers.authorization), ['Bearer spent', 'Bearer fresh']);
  assert.deepEqual(meter.responses, [429, 200]);
});

test('a 429 whose body names another limit reaches the client as the upstream sent it, headers and body', NO_HANG, async () => {
  const body = genesys429({ limit: { key: 'mock.client.rate.per.minute', namespace: 'platform.api', value: 300 } });
  const upstream = await startUpstream((_seen, response) => {
    response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7', 'inin-correlation-id': 'c-1' });
    response.end(body);
  });
  const pool = new HandPool();
  pool.current = pool.slot.lease('t', 1);
  pool.replayLease = pool.slot.lease('other', 2);
  const response = await tokenAgent(new ListMeter()).request({ origin: upstream.origin, path: '/a', method: 'GET', headers: carryPool({}, pool) });
  assert.equal(response.statusCode, 429);
  assert.equal(await response.body.text(), body);
  assert.equal(response.headers['content-type'], 'application/json');
  assert.equal(response.headers['retry-after'], '7');
  assert.equal(response.headers['inin-correlation-id'], 'c-1');
  assert.deepEqual(pool.slot.limited.map((l) => l.named), [{ key: 'mock.client.rate.per.minute', value: 300 }]);
  assert.equal(upstream.seen.length, 1, 'not replayed');
});

test('a key spelt in the message names the limit when there is no limit object; a body that names none, or is not JSON, names nothing', NO_HANG, async () => {
  const bodies = [
    genesys429({ message: 'Rate limit exceeded for org.user.rate.per.minute. Retry the request in [7] seconds' }),
    genesys429({}),
    genesys429({ limit: { namespace: 'platform.api', value: 300 } }),
    'Too Many Requests',
    '',
  ];
  let next = 0;
  const upstream = await startUpstream((_seen, response) => {
    response.writeHead(429, { 'content-type': 'application/json' });
    response.end(bodies[next++]);
  });
  const pool = new HandPool();
  pool.current = pool.slot.lease('t', 1);
  const agent = tokenAgent(new ListMeter());
  for (const body of bodies) {
    const response = await agent.request({ origin: upstream.origin, path: '/a', method: 'GET', headers: carryPool({}, pool) });
    assert.equal(await response.body.text(), body);
  }
  assert.deepEqual(pool.slot.limited.map((l) => l.named), [{ key: 'org.user.rate.per.minute', value: undefined }, undefined, undefined, undefined, undefined]);
});

test('a 429 body longer than the cap is decided without its name and streams on: the client has its start before the upstream ends it', NO_HANG, async () => {
  const head = JSON.stringify({ limit: { key: 'token.rate.per.minute', value: 300 }, pad: 'x'.repeat(MAX_429_BODY_BYTES) });
  const clientHasHeaders = signal();
  const upstream = await startUpstream((_seen, response) => {
    response.writeHead(429, { 'content-type': 'application/json' });
    response.write(head);
    void clientHasHeaders.fired.then(() => response.end('tail'));
  });
  const pool = new HandPool();
  pool.current = pool.slot.lease('t', 1);
  const response = await tokenAgent(new ListMeter()).request({ origin: upstream.origin, path: '/a', method: 'GET', headers: carryPool({}, pool) });
  clientHasHeaders.fire();
  assert.equal(response.statusCode, 429);
  assert.equal(await response.body.text(), `${head}tail`);
  assert.deepEqual(pool.slot.limited.map((l) => l.named), [undefined]);
});

test('any other answer is not held for its body: the client has a 200\'s headers while the upstream still waits to end it', NO_HANG, async () => {
  const clientHasHeaders = signal();
  const upstream = await startUpstream((_seen, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('first ');
    void clientHasHeaders.fired.then(() => response.end('second'));
  });
  const pool = new HandPool();
  pool.current = pool.slot.lease('t', 1);
  const response = await tokenAgent(new ListMeter()).request({ origin: upstream.origin, path: '/a', method: 'GET', headers: carryPool({}, pool) });
  clientHasHeaders.fire();
  assert.equal(await response.body.text(), 'first second');
  assert.deepEqual(pool.slot.limited, []);
});
