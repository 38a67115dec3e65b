import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import type { EchoReport } from '../../src/mock/echo-route.js';
import { startRig, waitUntil } from '../helpers/in-process.js';

async function sentToken(url: string, headers: Record<string, string> = {}): Promise<{ status: number; authorization: string }> {
  const response = await request(url, { headers });
  if (response.statusCode !== 200) {
    await response.body.dump();
    return { status: response.statusCode, authorization: '' };
  }
  const report = (await response.body.json()) as EchoReport;
  return { status: 200, authorization: String(report.headers.authorization) };
}

test('a pool of 3 tokens spreads requests round-robin and gets 3x the per-token rate limit', async () => {
  // Genesys caps each token (300/min); the mock here caps it at 50 per window.
  const rig = await startRig({ mock: { perTokenLimit: 50, perTokenWindowMs: 60_000 }, profile: { poolSize: 3, poolAuto: false } });
  const pool = rig.sidecar.profiles.pool(undefined)!;
  await waitUntil(() => pool.status().every((slot) => slot.state === 'valid'));
  const results = [];
  for (let i = 0; i < 140; i++) results.push(await sentToken(`${rig.proxyUrl}/api/v2/echo/pool`));
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
  assert.equal(new Set(results.map((r) => r.authorization)).size, 3);
  assert.equal(rig.mock.stats().tokenRequests.total, 3, 'one token per slot');
});

test('with a single token the same traffic runs into the per-token limit', async () => {
  // A fixed pool of one (an auto pool would grow past the limit).
  const rig = await startRig({ mock: { perTokenLimit: 50, perTokenWindowMs: 60_000 }, profile: { poolSize: 1, poolAuto: false } });
  let limited = 0;
  for (let i = 0; i < 60; i++) if ((await sentToken(`${rig.proxyUrl}/api/v2/echo/one`)).status === 429) limited++;
  assert.equal(limited, 10);
});

test('x-token-profile selects the profile whose token is sent, and is not forwarded', async () => {
  const rig = await startRig({ moreProfiles: [{ name: 'reporting' }] });
  await waitUntil(() => rig.sidecar.profiles.pool('reporting')!.ready);
  const byDefault = await sentToken(`${rig.proxyUrl}/api/v2/echo/p`);
  const named = await sentToken(`${rig.proxyUrl}/api/v2/echo/p`, { 'x-token-profile': 'default' });
  const reporting = await sentToken(`${rig.proxyUrl}/api/v2/echo/p`, { 'x-token-profile': 'reporting' });
  assert.equal(named.authorization, byDefault.authorization);
  assert.notEqual(reporting.authorization, byDefault.authorization);
  assert.equal(rig.mock.stats().tokenRequests.total, 2, 'one token per profile');
  const response = await request(`${rig.proxyUrl}/api/v2/echo/p`, { headers: { 'x-token-profile': 'reporting' } });
  const report = (await response.body.json()) as EchoReport;
  assert.equal(report.headers['x-token-profile'], undefined);
});
