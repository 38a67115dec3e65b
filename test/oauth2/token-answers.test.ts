import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, it } from 'node:test';
import { request } from 'undici';
import { eventually, startOAuthSidecar } from '../helpers/oauth-sidecar.js';

// Two answers of real token endpoints, end to end: no expires_in (the configured lifetime is used
// and GET /token says it was assumed) and a DPoP-bound token (refused: a 503 and /readyz say why,
// and nothing is sent upstream as a bearer token).

let tokenAnswer: Record<string, unknown> = {};
let upstreamCalls = 0;
const server = createServer((req, res) => {
  req.resume();
  if (req.url === '/token') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(tokenAnswer));
    return;
  }
  upstreamCalls++;
  res.writeHead(200).end('ok');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const env = { TOKEN_URL: `${base}/token`, UPSTREAM_URL: base, OAUTH_CLIENT_ID: 'c', OAUTH_CLIENT_SECRET: 's' };

it('without expires_in: the configured default lifetime, and GET /token says it was assumed', async () => {
  tokenAnswer = { access_token: 'opaque-1', token_type: 'bearer' };
  const { adminUrl, proxyUrl } = await startOAuthSidecar({ ...env, TOKEN_DEFAULT_LIFETIME_S: '120' });
  const slot = await eventually(async () => {
    const body = (await (await request(`${adminUrl}/token`)).body.json()) as { profiles: Array<{ slots: Array<{ token: Record<string, unknown> | null }> }> };
    return body.profiles[0]?.slots[0]?.token ?? undefined;
  }, 'a token is held');
  assert.equal(slot.lifetimeSeconds, 120);
  assert.equal(slot.lifetimeAssumed, true);
  const response = await request(`${proxyUrl}/x`);
  await response.body.text();
  assert.equal(response.statusCode, 200);
});

it('with expires_in: no lifetimeAssumed in GET /token', async () => {
  tokenAnswer = { access_token: 'opaque-2', token_type: 'Bearer', expires_in: '600' };
  const { adminUrl } = await startOAuthSidecar(env);
  const slot = await eventually(async () => {
    const body = (await (await request(`${adminUrl}/token`)).body.json()) as { profiles: Array<{ slots: Array<{ token: Record<string, unknown> | null }> }> };
    return body.profiles[0]?.slots[0]?.token ?? undefined;
  }, 'a token is held');
  assert.equal(slot.lifetimeSeconds, 600);
  assert.equal('lifetimeAssumed' in slot, false);
});

it('a DPoP token is refused: 503 and /readyz say why, nothing goes upstream', async () => {
  tokenAnswer = { access_token: 'dpop-bound', token_type: 'DPoP', expires_in: 300 };
  const before = upstreamCalls;
  const { adminUrl, proxyUrl } = await startOAuthSidecar(env);
  const reason = await eventually(async () => {
    const response = await request(`${adminUrl}/readyz`);
    const body = (await response.body.json()) as { reasons: string[] };
    return response.statusCode === 503 && body.reasons[0]?.includes('DPoP') ? body.reasons[0] : undefined;
  }, '/readyz names the DPoP refusal');
  assert.match(reason, /issued a DPoP token, which needs a proof of possession on every request; the sidecar sends tokens of type Bearer, so it refuses this one/);
  const response = await request(`${proxyUrl}/x`);
  const body = (await response.body.json()) as { error: string; cause: string };
  assert.equal(response.statusCode, 503);
  assert.match(body.cause, /DPoP/);
  assert.equal(upstreamCalls, before);
});
