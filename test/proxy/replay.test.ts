import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import { metricValue, startRig } from '../helpers/in-process.js';

// README "What it guarantees" 4, 5 and 6: a stale-token 401 is replayed once with a new token when the body
// is replayable; a second 401 and any 429 reach the client unchanged; no token → 503 JSON.

test('a request whose token was revoked is replayed once with a new token and succeeds', async () => {
  const rig = await startRig();
  // Revoke the shared token behind the sidecar's back (docs/genesys.md §3: DELETE /api/v2/tokens/me).
  const revoke = await request(`${rig.proxyUrl}/api/v2/tokens/me`, { method: 'DELETE' });
  await revoke.body.dump();
  const tokenRequestsBefore = rig.mock.stats().tokenRequests.total;

  const responses = await Promise.all(
    Array.from({ length: 20 }, () => request(`${rig.proxyUrl}/api/v2/tokens/me`).then(async (r) => (await r.body.dump(), r.statusCode))),
  );
  assert.deepEqual(new Set(responses), new Set([200]));
  assert.equal(rig.mock.stats().tokenRequests.total - tokenRequestsBefore, 1, 'twenty 401s cost one token request');
  assert.ok((await metricValue(rig.sidecar, 'token_sidecar_replays_total', { result: 'success' })) >= 1);
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_token_invalidations_total', { reason: 'upstream_401' }), 1);
});

test('a buffered POST body is sent again, identical, on replay', async () => {
  const rig = await startRig();
  await (await request(`${rig.proxyUrl}/api/v2/tokens/me`, { method: 'DELETE' })).body.dump();
  const body = JSON.stringify({ hello: 'world', n: 42 });
  const response = await request(`${rig.proxyUrl}/api/v2/echo/post`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const report = (await response.body.json()) as { bodyLength: number; method: string };
  assert.equal(response.statusCode, 200);
  assert.equal(report.bodyLength, body.length);
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_replays_total', { result: 'success' }), 1);
});

test('a second 401 reaches the client unchanged, with the upstream body', async () => {
  const rig = await startRig();
  const response = await request(`${rig.proxyUrl}/api/v2/echo/always401?status=401&setHeader=x-from:upstream`);
  const text = await response.body.text();
  assert.equal(response.statusCode, 401);
  assert.equal(response.headers['x-from'], 'upstream');
  assert.match(text, /"method":"GET"/);
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_replays_total', { result: 'unauthorized' }), 1);
});

test('a streamed body of unknown length is not replayed: its 401 reaches the client and the token is still renewed', async () => {
  const rig = await startRig();
  await (await request(`${rig.proxyUrl}/api/v2/tokens/me`, { method: 'DELETE' })).body.dump();
  const response = await request(`${rig.proxyUrl}/api/v2/echo/stream`, { method: 'POST', body: Readable.from([Buffer.from('abc'), Buffer.from('def')]) });
  const body = (await response.body.json()) as { code: string };
  assert.equal(response.statusCode, 401);
  assert.equal(body.code, 'bad.credentials');
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_replays_total', { result: 'not_replayable' }), 1);
  const next = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
  await next.body.dump();
  assert.equal(next.statusCode, 200);
});

test('a body above REPLAY_BODY_LIMIT streams and is not replayed', async () => {
  const rig = await startRig({ config: { replayBodyLimitBytes: 1000 } });
  await (await request(`${rig.proxyUrl}/api/v2/tokens/me`, { method: 'DELETE' })).body.dump();
  const response = await request(`${rig.proxyUrl}/api/v2/echo/big`, { method: 'POST', body: Buffer.alloc(5000, 1) });
  await response.body.dump();
  assert.equal(response.statusCode, 401);
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_replays_total', { result: 'not_replayable' }), 1);
});

test('an upstream 429 reaches the client unchanged with Retry-After, and is counted', async () => {
  // A fixed pool of one token and the default policy (pass): nowhere else to send the request.
  const rig = await startRig({ mock: { perTokenLimit: 2, perTokenWindowMs: 60_000 }, profile: { poolSize: 1, poolAuto: false } });
  const statuses: number[] = [];
  let last: { headers: Record<string, unknown>; body: unknown } | undefined;
  for (let i = 0; i < 3; i++) {
    const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
    statuses.push(response.statusCode);
    last = { headers: response.headers, body: await response.body.json() };
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.match(String(last!.headers['retry-after']), /^\d+$/);
  assert.equal((last!.body as { code: string }).code, 'too.many.requests.retry.after');
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_upstream_responses_total', { code: '429' }), 1);
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_rate_limit_remaining', { slot: '0' }), 0);
  assert.equal(rig.mock.stats().tokenRequests.total, 1, 'a 429 does not cost a token');
});

test('with credentials the token endpoint rejects, requests get a 503 JSON naming the cause, with Retry-After', async () => {
  const rig = await startRig({ profile: { clientSecret: 'wrong-secret' }, waitForToken: false });
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
  const body = (await response.body.json()) as { error: string; cause: string; message: string };
  assert.equal(response.statusCode, 503);
  assert.equal(body.error, 'token_unavailable');
  assert.match(body.cause, /HTTP 401.*invalid_client/);
  assert.ok(Number(response.headers['retry-after']) >= 1);
  assert.doesNotMatch(JSON.stringify(body), /wrong-secret/);
  const ready = await request(`${rig.adminUrl}/readyz`);
  assert.equal(ready.statusCode, 503);
  assert.match(await ready.body.text(), /invalid_client/);
});

test('while the token endpoint is failing, waiting requests do not each call it', async () => {
  const rig = await startRig({ profile: { clientSecret: 'wrong-secret' }, waitForToken: false });
  await Promise.all(Array.from({ length: 30 }, () => request(`${rig.proxyUrl}/api/v2/tokens/me`).then((r) => r.body.dump())));
  assert.ok(rig.mock.stats().tokenRequests.total <= 2, `token requests: ${rig.mock.stats().tokenRequests.total}`);
});

test('the upstream being unreachable gives a 502 JSON error and the proxy keeps serving', async () => {
  const rig = await startRig();
  await rig.mock.app.close();
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
  const body = (await response.body.json()) as { error: string };
  assert.equal(response.statusCode, 502);
  assert.equal(body.error, 'upstream_unreachable');
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_upstream_responses_total', { code: 'error' }), 1);
});

test('with INBOUND_API_KEY set, requests without the key get 401 JSON and the key is not forwarded', async () => {
  const rig = await startRig({ config: { inboundApiKey: 'k3y-for-clients' } });
  const refused = await request(`${rig.proxyUrl}/api/v2/echo/k`);
  assert.equal(refused.statusCode, 401);
  assert.equal(((await refused.body.json()) as { error: string }).error, 'inbound_key_required');
  const wrong = await request(`${rig.proxyUrl}/api/v2/echo/k`, { headers: { 'x-sidecar-key': 'nope' } });
  await wrong.body.dump();
  assert.equal(wrong.statusCode, 401);
  const ok = await request(`${rig.proxyUrl}/api/v2/echo/k`, { headers: { 'x-sidecar-key': 'k3y-for-clients' } });
  const report = (await ok.body.json()) as { headers: Record<string, string> };
  assert.equal(ok.statusCode, 200);
  assert.equal(report.headers['x-sidecar-key'], undefined);
});

test('an unknown x-token-profile gets a 400 JSON error', async () => {
  const rig = await startRig();
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`, { headers: { 'x-token-profile': 'nobody' } });
  const body = (await response.body.json()) as { error: string; message: string };
  assert.equal(response.statusCode, 400);
  assert.equal(body.error, 'unknown_profile');
  assert.match(body.message, /configured: default/);
});
