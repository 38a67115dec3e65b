import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { request } from 'undici';
import { metricValue, startRig, waitUntil, type Rig } from '../helpers/in-process.js';

// README "Prometheus and Grafana" (the admin port): /readyz reflects a usable token, /token reports metadata and never the
// token, POST /token/refresh forces one coordinated refresh.

async function getJson(url: string, init: Parameters<typeof request>[1] = {}): Promise<{ status: number; body: any; text: string; headers: Record<string, unknown> }> {
  const response = await request(url, init);
  const text = await response.body.text();
  return { status: response.statusCode, text, body: JSON.parse(text), headers: response.headers };
}

/** The bearer token the upstream received for a request through the proxy (the echo route reports it). */
async function tokenSeenUpstream(rig: Rig): Promise<string> {
  const { body } = await getJson(`${rig.proxyUrl}/api/v2/echo/whoami`);
  const header = String(body.headers.authorization);
  assert.match(header, /^Bearer \S+$/);
  return header.slice('Bearer '.length);
}

test('/readyz answers 503 with a reason before the first token arrives, then 200', async () => {
  // The token endpoint holds its requests until the test has asked /readyz: no guess at how
  // long a starved machine takes to get there.
  let tokenRequests = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  after(release);
  const rig = await startRig({
    waitForToken: false,
    beforeMockListens: (mock) =>
      mock.app.addHook('onRequest', async (request) => {
        if (!request.url.startsWith('/oauth/token')) return;
        tokenRequests++;
        await released;
      }),
  });
  await waitUntil(() => tokenRequests >= 1);
  const before = await getJson(`${rig.adminUrl}/readyz`);
  assert.equal(before.status, 503);
  assert.equal(before.body.ready, false);
  assert.match(before.body.reasons[0], /profile "default" holds no valid token yet: token request in progress/);

  release();
  await waitUntil(() => rig.sidecar.profiles.pool(undefined)!.ready);
  const afterToken = await getJson(`${rig.adminUrl}/readyz`);
  assert.equal(afterToken.status, 200);
  assert.deepEqual(afterToken.body, { ready: true, reasons: [], store: { kind: 'memory', available: true } });
});

test("/readyz answers 503 naming the token endpoint's rejection when the credentials are wrong", async () => {
  const rig = await startRig({ profile: { clientSecret: 'not-the-secret' }, waitForToken: false });
  await waitUntil(() => rig.sidecar.profiles.pool(undefined)!.status()[0]!.lastError !== null);
  const ready = await getJson(`${rig.adminUrl}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(ready.body.reasons[0], /holds no valid token: token endpoint answered HTTP 401 error=invalid_client/);
  assert.match(ready.body.reasons[0], /next attempt at \d{4}-\d\d-\d\dT/);
  assert.ok(!ready.text.includes('not-the-secret'));
});

test('/healthz answers 200 while the process serves, even without a token', async () => {
  const rig = await startRig({ profile: { clientSecret: 'not-the-secret' }, waitForToken: false });
  const health = await getJson(`${rig.adminUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { status: 'ok' });
});

test("/token reports every pool slot's state, expiry, lifetime, age, generation and source with the instance id, and never the token", async () => {
  const rig = await startRig({ profile: { poolSize: 2 } });
  await waitUntil(() => rig.sidecar.profiles.pool(undefined)!.status().every((slot) => slot.state === 'valid'));
  const tokens = [await tokenSeenUpstream(rig), await tokenSeenUpstream(rig)];
  const { status, body, text } = await getJson(`${rig.adminUrl}/token`);

  assert.equal(status, 200);
  assert.equal(body.instanceId, rig.sidecar.instanceId);
  assert.equal(body.defaultProfile, 'default');
  assert.deepEqual(body.store, { kind: 'memory', available: true });
  const [profile] = body.profiles;
  assert.equal(profile.profile, 'default');
  assert.equal(profile.state, 'valid');
  assert.equal(profile.poolSize, 2);
  assert.deepEqual(profile.slots.map((slot: { slot: number }) => slot.slot), [0, 1]);
  for (const slot of profile.slots) {
    assert.equal(slot.state, 'valid');
    assert.equal(slot.source, 'store');
    assert.equal(slot.lastError, null);
    assert.ok(Date.parse(slot.token.expiresAt) > Date.now());
    assert.ok(Date.parse(slot.token.issuedAt) <= Date.now());
    assert.equal(slot.token.lifetimeSeconds, 86_400);
    assert.ok(slot.token.ageSeconds >= 0 && slot.token.ageSeconds < 60);
    assert.equal(slot.token.generation, 1);
    assert.equal(slot.token.fetchedBy, rig.sidecar.instanceId);
  }
  for (const token of tokens) assert.ok(!text.includes(token), '/token exposed a bearer token');
});

test('POST /token/refresh forces exactly one token request and moves the generation up by one', async () => {
  const rig = await startRig();
  const tokenBefore = await tokenSeenUpstream(rig);
  const requestsBefore = await metricValue(rig.sidecar, 'token_sidecar_token_requests_total', { result: 'success' });
  const mockRequestsBefore = rig.mock.stats().tokenRequests.total;
  const generationBefore = (await getJson(`${rig.adminUrl}/token`)).body.profiles[0].slots[0].token.generation;

  const refreshed = await getJson(`${rig.adminUrl}/token/refresh`, { method: 'POST' });
  assert.equal(refreshed.status, 200);
  assert.equal(refreshed.body.refreshed[0].profile, 'default');
  assert.equal(refreshed.body.refreshed[0].slots[0].token.generation, generationBefore + 1);

  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_token_requests_total', { result: 'success' }), requestsBefore + 1);
  assert.equal(rig.mock.stats().tokenRequests.total, mockRequestsBefore + 1);
  assert.equal((await getJson(`${rig.adminUrl}/token`)).body.profiles[0].slots[0].token.generation, generationBefore + 1);
  const tokenAfter = await tokenSeenUpstream(rig);
  assert.notEqual(tokenAfter, tokenBefore);
  assert.ok(!refreshed.text.includes(tokenAfter));
});

test("POST /token/refresh answers 503 with the token endpoint's error and a Retry-After when the refresh fails", async () => {
  const rig = await startRig({ profile: { clientSecret: 'not-the-secret' }, waitForToken: false });
  const refreshed = await getJson(`${rig.adminUrl}/token/refresh`, { method: 'POST' });
  assert.equal(refreshed.status, 503);
  assert.equal(refreshed.body.error, 'token_unavailable');
  assert.match(refreshed.body.cause, /HTTP 401 error=invalid_client/);
  assert.match(String(refreshed.headers['retry-after']), /^\d+$/);
  assert.ok(!refreshed.text.includes('not-the-secret'));
});

test('POST /token/refresh requires the inbound key when one is configured', async () => {
  const rig = await startRig({ config: { inboundApiKey: 'inbound-key-for-admin' } });
  const without = await getJson(`${rig.adminUrl}/token/refresh`, { method: 'POST' });
  assert.equal(without.status, 401);
  assert.equal(without.body.error, 'inbound_key_required');
  const withKey = await getJson(`${rig.adminUrl}/token/refresh`, { method: 'POST', headers: { 'x-sidecar-key': 'inbound-key-for-admin' } });
  assert.equal(withKey.status, 200);
});
