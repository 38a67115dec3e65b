import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { FakeClock } from '../helpers/fake-clock.js';
import { metricValue, startRig, waitUntil } from '../helpers/in-process.js';

// README "What it guarantees" 5 and RATE_LIMIT_POLICY, through the real proxy against the mock's per-token
// limit (a real local HTTP upstream with Genesys's counters and 429 body).

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await request(url, { headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

test('a 429 of the sent token\'s own budget is replayed once on a slot with budget, and counted', async () => {
  const LIMIT = 5;
  const rig = await startRig({ mock: { perTokenLimit: LIMIT, perTokenWindowMs: 60_000, budgetHeaders: 'inin' }, profile: { poolSize: 2, poolAuto: false } });
  const pool = rig.sidecar.profiles.pool(undefined)!;
  await waitUntil(() => pool.status().every((slot) => slot.state === 'valid'));
  // Another user of slot 0's token spends its whole budget behind the sidecar's back.
  const token = pool.lease()!.token.accessToken;
  for (let i = 0; i < LIMIT; i++) assert.equal((await get(`${rig.mockUrl}/api/v2/tokens/me`, { authorization: `Bearer ${token}` })).status, 200);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await get(`${rig.proxyUrl}/api/v2/tokens/me`)).status);
  assert.deepEqual(statuses, [200, 200, 200, 200]);
  assert.equal(rig.mock.stats().api.byStatus['429'], 1, 'one upstream 429, on the spent token');
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_rate_limited_total', { action: 'replayed' }), 1);
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_upstream_responses_total', { code: '429' }), 1, 'every 429 counted');
});

test('reject: with every token out of budget the sidecar answers 429 itself, with Retry-After and its own code, without calling the upstream', async () => {
  const rig = await startRig({
    mock: { perTokenLimit: 2, perTokenWindowMs: 60_000, budgetHeaders: 'inin' },
    profile: { poolSize: 1, poolAuto: false, rateLimitPolicy: 'reject' },
  });
  const statuses: number[] = [];
  let last: Awaited<ReturnType<typeof get>> | undefined;
  for (let i = 0; i < 3; i++) statuses.push((last = await get(`${rig.proxyUrl}/api/v2/tokens/me`)).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  const body = JSON.parse(last!.text) as { error: string; message: string; retryAfterSeconds: number };
  assert.equal(body.error, 'sidecar_rate_limited');
  assert.match(body.message, /sidecar answered, the upstream was not called/);
  assert.ok(Number(last!.headers['retry-after']) >= 1 && Number(last!.headers['retry-after']) <= 60);
  assert.equal(rig.mock.stats().api.total, 2, 'the upstream saw only the two requests within budget');
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_rate_limited_total', { action: 'rejected' }), 1);
});

test('wait: a request that finds every token out of budget is held until the window resets, then sent and answered 200', async () => {
  // The mock's window and the sidecar's wait run on one fake clock: the first two requests share a
  // window however slowly this machine sends them, and the window ends only when the test moves time.
  const clock = new FakeClock(Date.now());
  const rig = await startRig({
    clock,
    mock: { perTokenLimit: 2, perTokenWindowMs: 1_000, budgetHeaders: 'inin' },
    profile: { poolSize: 1, poolAuto: false, rateLimitPolicy: 'wait', rateLimitMaxWaitMs: 5_000 },
  });
  const statuses: number[] = [];
  for (let i = 0; i < 2; i++) statuses.push((await get(`${rig.proxyUrl}/api/v2/tokens/me`)).status);
  const timers = clock.pendingTimers;
  const third = get(`${rig.proxyUrl}/api/v2/tokens/me`);
  let answered = false;
  void third.finally(() => (answered = true)).catch(() => {});
  // Held: the pool has set its timer to look again for budget. Time moves only from then on, in
  // steps, to the window's end and a little past it.
  await waitUntil(() => clock.pendingTimers > timers || answered);
  for (let elapsed = 0; !answered && elapsed < 2_000; elapsed += 100) await clock.advance(100);
  statuses.push((await third).status);
  assert.deepEqual(statuses, [200, 200, 200]);
  assert.equal(rig.mock.stats().api.byStatus['429'] ?? 0, 0);
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_rate_limited_total', { action: 'waited' }), 1);
});

test('wait: past RATE_LIMIT_MAX_WAIT_MS the request is passed, and the upstream\'s 429 reaches the client unchanged', async () => {
  const rig = await startRig({
    mock: { perTokenLimit: 2, perTokenWindowMs: 60_000, budgetHeaders: 'inin' },
    profile: { poolSize: 1, poolAuto: false, rateLimitPolicy: 'wait', rateLimitMaxWaitMs: 200 },
  });
  const statuses: number[] = [];
  let last: Awaited<ReturnType<typeof get>> | undefined;
  for (let i = 0; i < 3; i++) statuses.push((last = await get(`${rig.proxyUrl}/api/v2/tokens/me`)).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.equal((JSON.parse(last!.text) as { code: string }).code, 'too.many.requests.retry.after');
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_rate_limited_total', { action: 'passed' }), 1);
});

test('pass (the default): the request goes out at once and the upstream\'s 429 reaches the client with its Retry-After', async () => {
  const rig = await startRig({ mock: { perTokenLimit: 2, perTokenWindowMs: 60_000, budgetHeaders: 'inin' }, profile: { poolSize: 1, poolAuto: false } });
  const statuses: number[] = [];
  let last: Awaited<ReturnType<typeof get>> | undefined;
  for (let i = 0; i < 3; i++) statuses.push((last = await get(`${rig.proxyUrl}/api/v2/tokens/me`)).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.match(String(last!.headers['retry-after']), /^\d+$/);
  assert.equal(await metricValue(rig.sidecar, 'token_sidecar_rate_limited_total', { action: 'passed' }), 1);
});
