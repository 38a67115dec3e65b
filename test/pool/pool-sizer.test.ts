import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CacheReport } from '../../src/lifecycle/cache-report.js';
import { RefreshAheadCache } from '../../src/lifecycle/cached.js';
import { CoordinatedTokenSource } from '../../src/lifecycle/coordinated.js';
import { TokenPool, type TokenPoolOptions } from '../../src/pool/pool.js';
import { FleetCounts } from '../../src/pool/fleet-counts.js';
import { GROWTH_STOPPED_SHARED, PoolSizer } from '../../src/pool/pool-sizer.js';
import { PoolSlot } from '../../src/pool/slot.js';
import { TokenLimit } from '../../src/pool/token-limit.js';
import { SidecarError } from '../../src/errors.js';
import { LocalRefreshLock } from '../../src/lock/local.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import { Registry } from 'prom-client';
import { FakeClock, settle } from '../helpers/fake-clock.js';
import { LOCK_TTL_MS, quietLog, ScriptedSource } from '../lifecycle/rig.js';

// The auto pool's sizer and budget chooser on one FakeClock, over real slots (scripted endpoint →
// coordinated → cache) sharing a real MemoryTokenStore, with an upstream modelled by hand: fixed
// windows of LIMIT requests, per token or per client.
const LIMIT = 50;
const WINDOW_MS = 10_000;
const POOL_KEY = 'sizer-test:{k}:default:pool';

function world() {
  const clock = new FakeClock();
  const store = new MemoryTokenStore({ now: () => clock.now() });
  const lock = new LocalRefreshLock({ now: () => clock.now() });
  const endpoint = new ScriptedSource(clock, 'endpoint');
  const stops: Array<() => unknown> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });
  /** One instance's pool of the profile: auto (a sizer) or fixed, its slots built on demand. */
  function instance(opts: { auto?: boolean; max?: number; quietMs?: number; slots?: number } & TokenPoolOptions = {}) {
    const metrics = createMetrics(new Registry(), { defaultMetrics: false });
    const log = quietLog();
    const sizes: number[] = [];
    const build = (index: number) => {
      const key = `sizer-test:{k}:default:${index}`;
      const shared = new CoordinatedTokenSource(endpoint, { profile: 'default', key, store, lock, clock, metrics, log, lockTtlMs: LOCK_TTL_MS });
      void shared.start();
      stops.push(() => shared.stop());
      const cache = new RefreshAheadCache(shared, { report: new CacheReport('default', index, metrics, log), clock, refreshAt: 0.8, random: () => 0 });
      return new PoolSlot('default', index, cache, clock, metrics.rateLimitCells.cell('default', index), undefined, opts.tokenLimit);
    };
    const pool = new TokenPool('default', Array.from({ length: opts.slots ?? 1 }, (_, i) => build(i)), {
      clock,
      slotFactory: build,
      onSize: (size) => sizes.push(size),
      ...opts,
    });
    if (opts.auto !== false) pool.sizer = new PoolSizer(pool, { store, key: POOL_KEY, clock, log, max: opts.max ?? 64, quietMs: opts.quietMs });
    stops.push(() => pool.stop());
    return { pool, sizes };
  }
  return { clock, store, endpoint, instance };
}

/**
 * The upstream's fixed windows: one per token (per-token) or one for all (per-client). Its answers
 * carry the window's counters, or with `counters: false` none (Genesys today): then each answer is a
 * 200 or, over the limit, a 429 with the window's end as Retry-After.
 */
function upstream(clock: FakeClock, mode: 'per-token' | 'per-client', { counters = true } = {}) {
  const windows = new Map<string, { start: number; hits: number }>();
  return {
    over: 0,
    /** Sends one request through `pool` and answers it, at once. */
    send(pool: TokenPool, lease = pool.lease()!): void {
      const ticket = lease.slot.noteSent();
      const key = mode === 'per-token' ? lease.token.accessToken : 'client';
      const now = clock.now();
      let window = windows.get(key);
      if (!window || now >= window.start + WINDOW_MS) windows.set(key, (window = { start: now, hits: 0 }));
      const count = ++window.hits;
      if (count > LIMIT) this.over++;
      const resetSeconds = Math.ceil((window.start + WINDOW_MS - now) / 1000);
      if (counters) {
        lease.slot.observeRateLimit(LIMIT, count, resetSeconds, ticket);
        return;
      }
      lease.slot.noteAnswer(count > LIMIT ? 429 : 200);
      if (count > LIMIT) lease.slot.rateLimited(Number.NaN, Number.NaN, resetSeconds);
    },
  };
}

/** `perSecond` requests a second for `ms`, spread evenly, through `pools` in turn. */
async function load(clock: FakeClock, pools: TokenPool[], up: ReturnType<typeof upstream>, perSecond: number, ms: number) {
  const every = 1000 / perSecond;
  for (let t = 0, i = 0; t < ms; t += every, i++) {
    const pool = pools[i % pools.length]!;
    const lease = pool.lease();
    // A pool out of budget holds the request (the proxy's leaseOverBudget); here it is dropped.
    if (lease !== undefined && !pool.outOfBudget) up.send(pool, lease);
    await clock.advance(every);
  }
}

test('an auto pool grows fleet-wide from one slot as demand rises: no request over a token\'s budget, both instances on the same slots', async () => {
  const { clock, store, endpoint, instance } = world();
  const a = instance();
  const b = instance();
  a.pool.start();
  b.pool.start();
  await settle();
  const up = upstream(clock, 'per-token');
  await load(clock, [a.pool, b.pool], up, 40, 20_000);
  const record = await store.getPoolSize(POOL_KEY);
  // 40 requests/s against 50 per 10 s: 8 tokens' worth, plus a spare; every slot costs one token.
  assert.ok(record !== null && record.size >= 8 && record.size <= Math.ceil((40 * WINDOW_MS) / 1000 / LIMIT) + 2, `pool record ${JSON.stringify(record)}`);
  await clock.advance(1_000); // a poll: both instances on the record's size
  assert.equal(a.pool.size, record!.size);
  assert.equal(b.pool.size, record!.size);
  assert.equal(endpoint.calls, record!.size, 'one token request per slot, fleet-wide');
  assert.equal(a.sizes.at(-1), record!.size, 'the pool_size gauge follows');
  assert.equal(a.pool.poolStatus().growth, 'ok');
  // The requests went where budget was: the windows of the first seconds, before growth, aside.
  assert.ok(up.over <= LIMIT / 5, `${up.over} requests over a token's budget`);
});

test('a limit shared by every token of the client stops growth within 3 extra tokens, and /token says why', async () => {
  const { clock, store, instance } = world();
  const a = instance();
  a.pool.start();
  await settle();
  await load(clock, [a.pool], upstream(clock, 'per-client'), 40, 20_000);
  const record = await store.getPoolSize(POOL_KEY);
  assert.ok((record?.size ?? 1) - 1 <= 3, `pool record ${JSON.stringify(record)}`);
  assert.equal(a.pool.poolStatus().growth, GROWTH_STOPPED_SHARED);
});

test('counted, two instances, a per-client limit: a probe served out of what the client had left does not prove a per-token limit', async () => {
  const { clock, store, endpoint, instance } = world();
  const limit = () => new TokenLimit(WINDOW_MS, (LIMIT * 60_000) / WINDOW_MS, 'setting');
  const pools = [instance({ tokenLimit: limit() }).pool, instance({ tokenLimit: limit() }).pool];
  for (const pool of pools) {
    pool.counts = new FleetCounts(pool, { store, key: 'sizer-test:{k}:default:rate', clock, log: quietLog() });
    pool.start();
  }
  await settle();
  await load(clock, pools, upstream(clock, 'per-client', { counters: false }), 40, 8_000);
  await clock.advance(1_000); // a poll: both instances on the record
  const record = await store.getPoolSize(POOL_KEY);
  for (const pool of pools) assert.equal(pool.poolStatus().growth, GROWTH_STOPPED_SHARED, `pool record ${JSON.stringify(record)}`);
  assert.ok(endpoint.calls - 1 <= 3, `${endpoint.calls} token requests`);
});

test('the pool shrinks after the demand has stayed below its size for the quiet period; slots leave rotation', async () => {
  const { clock, store, instance } = world();
  const a = instance({ quietMs: 30_000 });
  a.pool.start();
  await settle();
  await load(clock, [a.pool], upstream(clock, 'per-token'), 30, 15_000);
  const grown = a.pool.size;
  assert.ok(grown > 2, `grew to ${grown}`);
  // Idle, with a request now and then so the sizer looks.
  await load(clock, [a.pool], upstream(clock, 'per-token'), 0.5, 60_000);
  assert.ok(a.pool.size < grown, `still ${a.pool.size}`);
  assert.equal((await store.getPoolSize(POOL_KEY))!.size, a.pool.size);
  assert.equal(a.pool.status().length, a.pool.size);
});

test('a fixed pool out of budget under reject answers 429 at once with Retry-After, counted', async () => {
  const { clock, instance } = world();
  const actions: string[] = [];
  const a = instance({ auto: false, policy: 'reject', onRateLimited: (action) => actions.push(action) });
  a.pool.start();
  await settle();
  const up = upstream(clock, 'per-token');
  for (let i = 0; i < LIMIT; i++) up.send(a.pool);
  assert.ok(a.pool.lease() !== undefined && a.pool.outOfBudget);
  const err = await a.pool.leaseOverBudget().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SidecarError);
  assert.equal(err.status, 429);
  assert.equal(err.code, 'sidecar_rate_limited');
  assert.ok(err.retryAfterSeconds! >= 1 && err.retryAfterSeconds! <= WINDOW_MS / 1000);
  assert.deepEqual(actions, ['rejected']);
});

test('under wait a request is held until a slot has budget again, then sent; under pass it is sent at once', async () => {
  const { clock, instance } = world();
  const actions: string[] = [];
  const waiting = instance({ auto: false, policy: 'wait', maxWaitMs: WINDOW_MS + 1_000, onRateLimited: (action) => actions.push(action) });
  waiting.pool.start();
  await settle();
  const up = upstream(clock, 'per-token');
  for (let i = 0; i < LIMIT; i++) up.send(waiting.pool);
  waiting.pool.lease();
  let sent = false;
  const held = waiting.pool.leaseOverBudget().then((s) => ((sent = true), s));
  await clock.advance(WINDOW_MS / 2);
  assert.equal(sent, false, 'held while the window lasts');
  await clock.advance(WINDOW_MS / 2 + 100);
  assert.ok((await held).ticket > LIMIT);
  assert.deepEqual(actions, ['waited']);

  const passing = instance({ auto: false, policy: 'pass', onRateLimited: (action) => actions.push(action) });
  passing.pool.start();
  await settle();
  for (let i = 0; i < LIMIT; i++) up.send(passing.pool);
  passing.pool.lease();
  await passing.pool.leaseOverBudget();
  assert.deepEqual(actions, ['waited', 'passed']);
});

test('answers that lag behind the requests (a starved machine) do not grow the pool past the demand', async () => {
  const { clock, store, instance } = world();
  const a = instance();
  const b = instance();
  a.pool.start();
  b.pool.start();
  await settle();
  // The upstream counts each request when it arrives; its answer reaches the sidecar LAG_MS later,
  // so at any moment about rate × LAG_MS requests of each instance are in flight.
  const LAG_MS = 400;
  const windows = new Map<string, { start: number; hits: number }>();
  let over = 0;
  const rate = 40;
  const every = 1000 / rate;
  for (let t = 0, i = 0; t < 30_000; t += every, i++) {
    const pool = i % 2 === 0 ? a.pool : b.pool;
    const lease = pool.lease();
    if (lease !== undefined && !pool.outOfBudget) {
      const ticket = lease.slot.noteSent();
      const now = clock.now();
      let window = windows.get(lease.token.accessToken);
      if (!window || now >= window.start + WINDOW_MS) windows.set(lease.token.accessToken, (window = { start: now, hits: 0 }));
      const count = ++window.hits;
      if (count > LIMIT) over++;
      const end = window.start + WINDOW_MS;
      clock.setTimeout(() => lease.slot.observeRateLimit(LIMIT, count, Math.ceil((end - clock.now()) / 1000), ticket), LAG_MS);
    }
    await clock.advance(every);
  }
  const record = await store.getPoolSize(POOL_KEY);
  // 40 requests/s against 50 per 10 s: 8 tokens' worth, plus the spare, plus one for a demand read
  // a little above a whole number of tokens (it is read at about 41/s here): the bound the
  // end-to-end test holds the pool to.
  const needed = Math.ceil((rate * WINDOW_MS) / 1000 / LIMIT);
  assert.ok(record !== null && record.size <= needed + 2, `pool record ${JSON.stringify(record)} for a demand of ${needed} tokens`);
  assert.ok(over <= LIMIT / 5, `${over} requests over a token's budget`);
});

test('a 429 whose body names a limit per client, user or organisation stops growth at once, fleet-wide, back to one token', async () => {
  const { store, instance } = world();
  const a = instance({ slots: 3 });
  a.pool.start();
  await settle();
  const lease = a.pool.lease()!;
  assert.equal(lease.slot.rateLimited(Number.NaN, Number.NaN, 7, { key: 'org.app.user.rate.per.minute', value: 300 }), false, 'not the token\'s own budget');
  assert.equal(a.pool.poolStatus().growth, GROWTH_STOPPED_SHARED);
  assert.equal(a.pool.size, 1);
  await settle();
  assert.equal((await store.getPoolSize(POOL_KEY))?.stopped, 'shared', 'the other instances read it from the store');
  assert.equal(a.pool.budgets[lease.slot.index]!.exhaustedUntil, 0, 'the slot is not spent: another token would meet the same limit');
});

test('a limit the 429 names decides over the budget counters the answer carries', async () => {
  const { instance } = world();
  const a = instance({ slots: 2, tokenLimit: new TokenLimit(WINDOW_MS, 300, 'setting') });
  a.pool.start();
  await settle();
  const lease = a.pool.lease()!;
  // Counters with budget left would say another limit; the name says the token's own.
  assert.equal(lease.slot.rateLimited(300, 12, 7, { key: 'client.credentials.token.rate.per.minute', value: undefined }), true);
  assert.equal(lease.slot.rateLimited(Number.NaN, Number.NaN, 7, { key: 'token.rate.per.minute', value: undefined }), true);
  // Counters at the limit would say the token's own; the name says a limit over every token.
  const other = a.pool.lease()!;
  assert.equal(other.slot.rateLimited(300, 300, 7, { key: 'org.app.user.rate.per.minute', value: undefined }), false);
  assert.equal(other.slot.rateLimited(300, 300, 7, { key: 'org.user.rate.per.minute', value: undefined }), false);
});

test("a 429 whose body names a resource's own limit reaches the client and changes nothing: growth goes on, the slot keeps its budget", async () => {
  const { instance } = world();
  const a = instance({ slots: 2 });
  a.pool.start();
  await settle();
  const lease = a.pool.lease()!;
  assert.equal(lease.slot.rateLimited(Number.NaN, Number.NaN, 7, { key: 'architect.ivrs.update.rate.per.minute', value: 100 }), false);
  assert.equal(a.pool.poolStatus().growth, 'ok');
  assert.equal(a.pool.size, 2);
  assert.equal(a.pool.budgets[lease.slot.index]!.exhaustedUntil, 0);
});

test("a 429 whose body names the per-token limit spends the slot until Retry-After, and its value becomes the profile's limit unless a stronger source set it", async () => {
  const { clock, instance } = world();
  const named = { key: 'client.credentials.token.rate.per.minute', value: 120 };
  for (const [before, after] of [
    [new TokenLimit(WINDOW_MS), { perMinute: 120, perWindow: 20, source: '429-body' }],
    [new TokenLimit(WINDOW_MS, 300, 'genesys-default'), { perMinute: 120, perWindow: 20, source: '429-body' }],
    [new TokenLimit(WINDOW_MS, 600, 'limits-api'), { perMinute: 600, perWindow: 100, source: 'limits-api' }],
    [new TokenLimit(WINDOW_MS, 60, 'setting'), { perMinute: 60, perWindow: 10, source: 'setting' }],
  ] as const) {
    const a = instance({ slots: 2, tokenLimit: before });
    a.pool.start();
    await settle();
    const lease = a.pool.lease()!;
    assert.equal(lease.slot.rateLimited(Number.NaN, Number.NaN, 7, named), true, 'the token\'s own budget');
    const { perMinute, perWindow, source } = a.pool.tokenLimit.describe();
    assert.deepEqual({ perMinute, perWindow, source }, after);
    assert.equal(a.pool.budgets[lease.slot.index]!.exhaustedUntil, clock.now() + 7_000);
    assert.equal(a.pool.poolStatus().growth, 'ok');
  }
  // The same figure again changes nothing (no slot's count is resized on every 429).
  const limit = new TokenLimit(WINDOW_MS);
  let changes = 0;
  limit.onChange(() => changes++);
  assert.equal(limit.setIfStronger(120, '429-body'), true);
  assert.equal(limit.setIfStronger(120, '429-body'), false);
  assert.equal(limit.setIfStronger(120, 'learned'), false);
  assert.equal(changes, 1);
});
