import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { startRig } from '../helpers/in-process.js';

// The brakes' admin routes follow the proxy's inbound-key rule: with INBOUND_API_KEY set (required
// when the admin port is not on loopback) a POST without the key is refused and changes nothing.

async function call(url: string, method: 'GET' | 'POST', headers: Record<string, string> = {}) {
  const response = await request(url, { method, headers });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

test('POST /admin/halt and /admin/resume need the inbound key when one is set', async () => {
  const rig = await startRig({ config: { inboundApiKey: 'the-inbound-key' } });
  const key = { 'x-sidecar-key': 'the-inbound-key' };
  const refused = await call(`${rig.adminUrl}/admin/halt`, 'POST');
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error, 'inbound_key_required');
  assert.equal((await call(`${rig.adminUrl}/admin/brakes`, 'GET')).body.halted, false);

  const halted = await call(`${rig.adminUrl}/admin/halt`, 'POST', key);
  assert.equal(halted.status, 200);
  assert.equal(halted.body.halted, true);
  const proxied = await call(`${rig.proxyUrl}/api/v2/tokens/me`, 'GET', key);
  assert.equal(proxied.status, 503);
  assert.equal(proxied.body.error, 'sidecar_halted');
  assert.equal(rig.mock.stats().api.total, 0);

  assert.equal((await call(`${rig.adminUrl}/admin/resume`, 'POST')).status, 401);
  assert.equal((await call(`${rig.adminUrl}/admin/resume`, 'POST', key)).body.halted, false);
  assert.equal((await call(`${rig.proxyUrl}/api/v2/tokens/me`, 'GET', key)).status, 200);
});

test('GET /admin/brakes tells the cap, the count and the window; POST /admin/requests/reset starts a new count', async () => {
  // A window from an hour before now to an hour after (UTC): open for the whole test.
  const minute = new Date().getUTCHours() * 60;
  const window = { text: 'around now', startMinute: (minute + 1380) % 1440, endMinute: (minute + 120) % 1440, timeZone: 'UTC' };
  const rig = await startRig({ config: { maxRequests: 3, testWindow: window } });
  for (let i = 0; i < 4; i++) await (await request(`${rig.proxyUrl}/api/v2/tokens/me`)).body.dump();
  const status = (await call(`${rig.adminUrl}/admin/brakes`, 'GET')).body;
  assert.deepEqual(status.maxRequests, { limit: 3, usedByFleet: 3, heldByThisInstance: 0 });
  assert.deepEqual(status.testWindow, { window: 'around now', open: true });
  assert.equal(rig.mock.stats().api.total, 3);
  assert.equal((await call(`${rig.adminUrl}/admin/requests/reset`, 'POST')).status, 200);
  const after = await call(`${rig.proxyUrl}/api/v2/tokens/me`, 'GET');
  assert.equal(after.status, 200);
  assert.equal(rig.mock.stats().api.total, 4);
});
