import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SidecarError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startRig, waitUntil } from '../helpers/in-process.js';

// The token lifecycle of one slot, driven by an injected clock: the mock upstream and the sidecar
// share it, so tokens expire when the test says so and nothing sleeps.

type RigOptions = NonNullable<Parameters<typeof startRig>[0]>;

async function rigWithClock(mock: RigOptions['mock'] = {}, config: RigOptions['config'] = {}) {
  const clock = new FakeClock();
  const rig = await startRig({ clock, mock: { tokenLifetimeSeconds: 100, ...mock }, config, waitForToken: false });
  const pool = rig.sidecar.profiles.pool(undefined)!;
  const tokenRequests = () => rig.mock.stats().tokenRequests.total;
  /** Advances the fake clock in steps, letting real I/O (HTTP to the mock) finish in between. */
  async function advance(ms: number, step = 250) {
    for (let done = 0; done < ms; done += step) {
      await clock.advance(Math.min(step, ms - done));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  /** Advances the fake clock until `condition` holds (real I/O finishing in between), or fails. */
  async function advanceUntil(condition: () => boolean, maxMs: number, step = 250) {
    for (let done = 0; !condition(); done += step) {
      if (done > maxMs) throw new Error(`condition not met within ${maxMs} ms of fake time`);
      await advance(step, step);
    }
  }
  return { clock, rig, pool, tokenRequests, advance, advanceUntil };
}

test('a burst of concurrent first requests costs one token request', async () => {
  const { pool, tokenRequests } = await rigWithClock();
  const leases = await Promise.all(Array.from({ length: 100 }, () => pool.leaseWaiting()));
  assert.equal(new Set(leases.map((l) => l.token.accessToken)).size, 1);
  assert.equal(tokenRequests(), 1);
});

test('the token is refreshed in the background once REFRESH_AT of its lifetime has passed, with no gap', async () => {
  const { pool, tokenRequests, advance } = await rigWithClock();
  const first = (await pool.leaseWaiting()).token;
  await advance(79_000, 1_000);
  assert.equal(tokenRequests(), 1, 'no refresh before 80% of the lifetime');
  for (let t = 79_000; t < 86_000; t += 250) {
    assert.ok(pool.lease(), `a valid token is held at ${t} ms`);
    await advance(250);
  }
  await waitUntil(() => tokenRequests() === 2);
  const second = pool.lease()!.token;
  assert.ok(second.generation > first.generation);
  assert.notEqual(second.accessToken, first.accessToken);
});

test('a token is never handed out within its safety margin of expiry, even when refreshing fails', async () => {
  // The token endpoint fails from 50 s on: the refresh at ~80 s cannot succeed.
  const { pool, advance, advanceUntil } = await rigWithClock({ failTokenWindow: { startMs: 50_000, endMs: 10_000_000 } });
  await pool.leaseWaiting();
  await advance(89_000, 500);
  assert.ok(pool.lease(), 'still valid at 89 s (expires at 100 s, margin 10 s)');
  await advance(1_500, 500);
  assert.equal(pool.lease(), undefined, 'not handed out past 90 s');
  // A request now waits for the refresh in progress (its retries sleep on the fake clock), then fails.
  let outcome: unknown;
  pool.leaseWaiting().then(() => (outcome = 'a token'), (err: unknown) => (outcome = err));
  await advanceUntil(() => outcome !== undefined, 30_000);
  assert.ok(outcome instanceof SidecarError && outcome.status === 503 && (outcome.retryAfterSeconds ?? 0) >= 1, String(outcome));
});

test('a 401 on a token that is no longer current causes no refresh', async () => {
  const { pool, tokenRequests } = await rigWithClock();
  const old = await pool.leaseWaiting();
  await pool.forceRefresh();
  assert.equal(tokenRequests(), 2);
  const replacement = await old.slot.onUnauthorized(old.token);
  assert.ok(replacement.token.generation > old.token.generation);
  assert.equal(tokenRequests(), 2);
});

test('many concurrent 401s on the current token cause one refresh, and all get the same new token', async () => {
  const { pool, tokenRequests } = await rigWithClock();
  const lease = await pool.leaseWaiting();
  const replacements = await Promise.all(Array.from({ length: 25 }, () => lease.slot.onUnauthorized(lease.token)));
  assert.equal(new Set(replacements.map((t) => t.token.generation)).size, 1);
  assert.equal(tokenRequests(), 2);
});

test('after a failed refresh, requests are answered 503 at once until the backoff elapses, then it recovers', async () => {
  // Fails for the first 20 s of the mock's life.
  const { pool, tokenRequests, advanceUntil } = await rigWithClock({ failTokenWindow: { startMs: 0, endMs: 20_000 } });
  // The initial fetch and its in-budget retries all fail.
  await advanceUntil(() => pool.status()[0]!.state === 'failing', 10_000);
  const afterFailure = tokenRequests();
  for (let i = 0; i < 20; i++) await assert.rejects(pool.leaseWaiting(), SidecarError);
  assert.equal(tokenRequests(), afterFailure, 'requests during the backoff do not call the token endpoint');
  await advanceUntil(() => pool.ready, 120_000, 1_000);
  assert.ok(pool.lease());
});

test("a token endpoint 429's Retry-After is honoured before the next attempt", async () => {
  const { pool, tokenRequests, clock } = await rigWithClock({ tokenRateLimit: 1, tokenRateWindowMs: 60_000 });
  await pool.leaseWaiting();
  await assert.rejects(pool.forceRefresh());
  const nextRetryAt = Date.parse(pool.status()[0]!.nextRetryAt ?? '');
  assert.ok(nextRetryAt - clock.now() >= 1_000, `retry scheduled ${nextRetryAt - clock.now()} ms ahead`);
  assert.equal(tokenRequests(), 2, 'one 429, then no hammering');
});
