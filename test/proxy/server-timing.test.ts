import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { Client, request } from 'undici';
import { parseServerTiming } from '../../src/proxy/server-timing.js';
import { startRig, waitUntil, type Rig } from '../helpers/in-process.js';

// Server-Timing on every proxied answer: sidecar, token, budget and upstream parts that add up to what
// the client waited for, and replay;desc when the request was sent twice.

function parts(header: string | string[] | undefined) {
  const parsed = parseServerTiming(header);
  const dur = (name: string) => {
    const value = parsed.get(name)?.dur;
    assert.ok(value !== undefined && Number.isFinite(value) && value >= 0, `${name};dur in ${String(header)}`);
    return value;
  };
  return { sidecar: dur('sidecar'), token: dur('token'), budget: dur('budget'), upstream: dur('upstream'), replay: parsed.get('replay')?.desc };
}

/** How many answers token_sidecar_added_latency_seconds has counted. */
async function addedLatencyCount(rig: Rig): Promise<number> {
  const metric = rig.sidecar.metrics.registry.getSingleMetric('token_sidecar_added_latency_seconds');
  const { values } = await metric!.get();
  return (values as { metricName?: string; value: number }[]).find((v) => v.metricName === 'token_sidecar_added_latency_seconds_count')?.value ?? 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// Client, sidecar and mock share this process: on a 2-core machine shared with other work, three
// processes add the operating system's scheduling delays to every hop, which belong to none of them.
test('for 1,000 requests through a sidecar against the mock, the four parts add up to the time the client measured within 1 ms at p50', async (t) => {
  const rig = await startRig({ profile: { poolSize: 1, poolAuto: false } });
  const client = new Client(rig.proxyUrl);
  after(() => client.close());
  // Warm both processes' code paths first; the measured requests follow one another on one connection.
  for (let i = 0; i < 200; i++) await (await client.request({ path: '/api/v2/tokens/me', method: 'GET' })).body.dump();
  const gaps: number[] = [];
  const sums: number[] = [];
  for (let i = 0; i < 1_000; i++) {
    const sentAt = performance.now();
    const response = await client.request({ path: '/api/v2/tokens/me', method: 'GET' });
    const measured = performance.now() - sentAt;
    await response.body.dump();
    assert.equal(response.statusCode, 200);
    const p = parts(response.headers['server-timing']);
    assert.equal(p.token, 0);
    assert.equal(p.budget, 0);
    assert.equal(p.replay, undefined);
    const sum = p.sidecar + p.token + p.budget + p.upstream;
    sums.push(sum);
    gaps.push(measured - sum);
  }
  const gap = median(gaps);
  t.diagnostic(`client-measured ${median(gaps.map((g, i) => g + sums[i]!)).toFixed(3)} ms, parts ${median(sums).toFixed(3)} ms, difference ${gap.toFixed(3)} ms (p50)`);
  assert.ok(Math.abs(gap) <= 1, `client-measured minus the parts' sum at p50: ${gap.toFixed(3)} ms (sum p50 ${median(sums).toFixed(3)} ms)`);
});

test('a request that comes before any token shows the wait as token;dur', async () => {
  const rig = await startRig({ mock: { tokenLatencyMs: 300 }, waitForToken: false });
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
  await response.body.dump();
  assert.equal(response.statusCode, 200);
  const p = parts(response.headers['server-timing']);
  assert.ok(p.token >= 250, `token;dur=${p.token}`);
  assert.ok(p.sidecar < p.token, `sidecar;dur=${p.sidecar} is not the wait`);
  // The same request's sidecar part went into the histogram.
  assert.equal(await addedLatencyCount(rig), 1);
});

test('a 401 replay shows replay;desc="401", its newer token wait as token;dur, and both attempts in upstream;dur', async () => {
  const rig = await startRig({ mock: { tokenLatencyMs: 150 } });
  // Revoke the shared token behind the sidecar's back (docs/genesys.md §3).
  await (await request(`${rig.proxyUrl}/api/v2/tokens/me`, { method: 'DELETE' })).body.dump();
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
  await response.body.dump();
  assert.equal(response.statusCode, 200);
  const p = parts(response.headers['server-timing']);
  assert.equal(p.replay, '401');
  assert.ok(p.token >= 100, `token;dur=${p.token} holds the newer token's fetch`);
});

test('a 429 of the token\'s own budget replayed on the other slot of a fixed pool of 2 shows replay;desc="429"', async () => {
  const LIMIT = 5;
  const rig = await startRig({ mock: { perTokenLimit: LIMIT, perTokenWindowMs: 60_000 }, profile: { poolSize: 2, poolAuto: false } });
  const pool = rig.sidecar.profiles.pool(undefined)!;
  await waitUntil(() => pool.status().every((slot) => slot.state === 'valid'));
  // Another user of slot 0's token spends its whole budget behind the sidecar's back.
  const token = pool.lease()!.token.accessToken;
  for (let i = 0; i < LIMIT; i++) await (await request(`${rig.mockUrl}/api/v2/tokens/me`, { headers: { authorization: `Bearer ${token}` } })).body.dump();
  const replays: (string | undefined)[] = [];
  for (let i = 0; i < 4; i++) {
    const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
    await response.body.dump();
    assert.equal(response.statusCode, 200);
    replays.push(parts(response.headers['server-timing']).replay);
  }
  assert.equal(rig.mock.stats().api.byStatus['429'], 1, 'one upstream 429, on the spent token');
  assert.deepEqual(replays.filter((r) => r !== undefined), ['429'], `replay parts: ${replays.join(', ')}`);
});

test('a hold for rate budget shows as budget;dur', async () => {
  // RATE_LIMIT_PER_TOKEN=1 per minute and the wait policy: the second request is held up to 300 ms, then passed.
  const rig = await startRig({ profile: { poolSize: 1, poolAuto: false, rateLimitPerToken: 1, rateLimitPolicy: 'wait', rateLimitMaxWaitMs: 300 } });
  await (await request(`${rig.proxyUrl}/api/v2/tokens/me`)).body.dump();
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
  await response.body.dump();
  const p = parts(response.headers['server-timing']);
  assert.ok(p.budget >= 250, `budget;dur=${p.budget}`);
  assert.ok(p.sidecar < 50, `sidecar;dur=${p.sidecar}`);
});

test("an upstream's own Server-Timing is kept and ours follows it", async () => {
  const rig = await startRig();
  const response = await request(`${rig.proxyUrl}/api/v2/echo/x?setHeader=server-timing:db%3Bdur%3D53`);
  await response.body.dump();
  const header = response.headers['server-timing'];
  const parsed = parseServerTiming(header);
  assert.equal(parsed.get('db')?.dur, 53, String(header));
  assert.ok(parsed.has('sidecar') && parsed.has('upstream'), String(header));
});

test('SERVER_TIMING=off: no header, the histogram still counts', async () => {
  const rig = await startRig({ config: { serverTiming: false } });
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
  await response.body.dump();
  assert.equal(response.headers['server-timing'], undefined);
  assert.equal(await addedLatencyCount(rig), 1);
});
