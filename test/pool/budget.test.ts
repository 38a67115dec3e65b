import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify429, limitKeyOf, limitScope, namedLimitInBody, namedLimitOf, perMinuteOf } from '../../src/pool/budget-429.js';
import { LOCAL_WINDOW_MS, pickSlot, SlotBudget } from '../../src/pool/budget.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** Budgets fed the same counters, as Genesys would report them: allowed, count, reset seconds. */
function budgetsWith(clock: FakeClock, ...counters: [number, number, number][]): SlotBudget[] {
  return counters.map(([allowed, count, reset]) => {
    const budget = new SlotBudget();
    budget.observe(allowed, count, reset, clock.now());
    return budget;
  });
}

describe('SlotBudget', () => {
  it('knows no limit until counters arrive: unlimited', () => {
    const budget = new SlotBudget();
    assert.equal(budget.remaining(new FakeClock().now()), Number.POSITIVE_INFINITY);
  });

  it('takes the upstream counters: remaining is allowed minus count until the window ends', async () => {
    const clock = new FakeClock();
    const budget = new SlotBudget();
    budget.observe(300, 120, 45, clock.now());
    assert.deepEqual([budget.limit, budget.used, budget.remaining(clock.now())], [300, 120, 180]);
    assert.equal(budget.resetAt, clock.now() + 45_000);
    await clock.advance(44_999);
    assert.equal(budget.remaining(clock.now()), 180);
    await clock.advance(1);
    assert.equal(budget.remaining(clock.now()), 300, 'a window that ended gives the whole budget back');
  });

  it('counts requests sent since the last counters, so simultaneous requests spread over slots', () => {
    const clock = new FakeClock();
    const budget = new SlotBudget();
    budget.observe(50, 10, 10, clock.now());
    budget.noteSent(clock.now());
    budget.noteSent(clock.now());
    assert.equal(budget.remaining(clock.now()), 38);
    budget.observe(50, 11, 10, clock.now());
    assert.equal(budget.used, 12, 'an older response does not undo requests already sent');
    budget.observe(50, 20, 10, clock.now());
    assert.equal(budget.used, 20, 'other instances\' use of the token raises it');
  });

  it('adds the requests sent after the answered one: its own by ticket, an older answer changing nothing', () => {
    const budget = new SlotBudget();
    const first = budget.noteSent(0);
    budget.observe(300, 1, 60, 10, first);
    const second = budget.noteSent(20);
    for (let i = 0; i < 3; i++) budget.noteSent(20);
    budget.observe(300, 2, 60, 30, second);
    assert.equal(budget.used, 2 + 3, 'three requests after the second are still out');
    budget.observe(300, 1, 60, 31, first);
    assert.equal(budget.used, 5);
  });

  it('counts the other instances\' requests in flight by how fast the count rises against its own', () => {
    const budget = new SlotBudget();
    // Every answer shows the count up by 2 per request of this instance: another instance sends as many.
    for (let i = 1; i <= 30; i++) budget.observe(300, 2 * i, 60, 0, budget.noteSent(0));
    assert.equal(budget.fleetFactor, 2);
    for (let i = 0; i < 5; i++) budget.noteSent(0);
    assert.equal(budget.used, 60 + 5 * 2);
    assert.equal(budget.remaining(0), 300 - 70);
  });

  it('starts a new window from the upstream count, however high the last one was', async () => {
    const clock = new FakeClock();
    const budget = new SlotBudget();
    budget.observe(50, 49, 3, clock.now());
    await clock.advance(3_000);
    budget.noteSent(clock.now());
    assert.equal(budget.remaining(clock.now()), 49, 'the sent request counts in the new window');
    budget.observe(50, 1, 10, clock.now());
    assert.deepEqual([budget.used, budget.resetAt], [1, clock.now() + 10_000]);
  });

  it('tells a new window by its later end even before the old end has passed (reset is rounded up to seconds)', async () => {
    const clock = new FakeClock();
    const budget = new SlotBudget();
    budget.observe(50, 40, 2, clock.now()); // really 1.2 s left, rounded up to 2
    await clock.advance(1_500);
    budget.observe(50, 1, 10, clock.now());
    assert.equal(budget.used, 1);
    const sameWindow = budget.resetAt;
    await clock.advance(300);
    budget.observe(50, 2, 10, clock.now()); // 9.7 s rounded up: the same window, not a later one
    assert.deepEqual([budget.used, budget.resetAt], [2, sameWindow]);
  });

  it('keeps the earliest end reported for a window: the rounding only ever adds', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const budget = new SlotBudget();
    budget.observe(50, 1, 10, clock.now()); // really 9.6 s left
    await clock.advance(400);
    budget.observe(50, 2, 10, clock.now()); // 9.2 s, rounded up to 10: later than known, same window
    assert.deepEqual([budget.used, budget.resetAt], [2, start + 10_000]);
    await clock.advance(300);
    budget.observe(50, 3, 9, clock.now()); // 8.9 s, rounded up to 9: the tightest yet
    assert.equal(budget.resetAt, start + 9_700);
  });

  it('learns the window length from the largest reset it sees', () => {
    const clock = new FakeClock();
    const budget = new SlotBudget();
    budget.observe(300, 200, 20, clock.now());
    budget.observe(300, 201, 60, clock.now() + 40_000);
    assert.equal(budget.windowMs, 60_000);
  });

  it('ignores counters that are absent or not numbers', () => {
    const budget = new SlotBudget();
    budget.observe(Number.NaN, 3, 10, 0);
    budget.observe(300, Number.NaN, 10, 0);
    budget.observe(0, 0, 10, 0);
    assert.deepEqual([budget.limit, budget.fromUpstream], [0, false]);
  });

  it('with RATE_LIMIT_PER_TOKEN and no headers, counts over a sliding minute at least as long as the window', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const budget = new SlotBudget(3);
    // (true: the token's budget for the whole fleet, without a fresh token's slow start.)
    assert.equal(budget.remaining(clock.now(), true), 3);
    for (let i = 0; i < 3; i++) budget.noteSent(clock.now());
    assert.equal(budget.remaining(clock.now(), true), 0);
    assert.equal(budget.availableAt(clock.now()), clock.now() + 1_000, 'a sliding count frees budget as its oldest second leaves');
    await clock.advance(LOCAL_WINDOW_MS);
    assert.equal(budget.remaining(clock.now(), true), 0, 'a minute later the requests are still in the span (window + the bucket under way)');
    await clock.advance(1_000);
    assert.equal(budget.remaining(clock.now(), true), 3);
    budget.noteSent(clock.now());
    assert.equal(budget.remaining(clock.now(), true), 2);
  });

  it('lets the upstream counters win over RATE_LIMIT_PER_TOKEN once they arrive', () => {
    const budget = new SlotBudget(100);
    budget.noteSent(0);
    budget.observe(300, 10, 60, 0);
    assert.deepEqual([budget.limit, budget.remaining(0)], [300, 290]);
  });

  it('is exhausted after a budget 429 until Retry-After, then has its budget again', async () => {
    const clock = new FakeClock();
    const budget = new SlotBudget();
    budget.observe(300, 300, 42, clock.now());
    budget.markExhausted(clock.now(), 42);
    assert.equal(budget.remaining(clock.now()), 0);
    assert.equal(budget.availableAt(clock.now()), clock.now() + 42_000);
    await clock.advance(42_000);
    assert.equal(budget.remaining(clock.now()), 300);
  });

  it('without Retry-After stays exhausted until its window ends', async () => {
    const clock = new FakeClock();
    const budget = new SlotBudget();
    budget.observe(50, 45, 4, clock.now());
    budget.markExhausted(clock.now());
    await clock.advance(3_999);
    assert.equal(budget.remaining(clock.now()), 0);
    await clock.advance(1);
    assert.equal(budget.remaining(clock.now()), 50);
  });

  it('leaves exhaustion as soon as counters of a new window arrive', () => {
    const budget = new SlotBudget();
    budget.observe(50, 51, 5, 0);
    budget.markExhausted(0, 30);
    budget.observe(50, 1, 10, 5_000);
    assert.equal(budget.remaining(5_000), 49);
  });

  it('counts the requests sent before a fresh token\'s first answer against its first window', () => {
    const budget = new SlotBudget();
    budget.adoptLimit(budgetsWith(new FakeClock(0), [50, 20, 10])[0]!);
    for (let i = 0; i < 5; i++) budget.noteSent(0);
    assert.equal(budget.remaining(0), 45);
    budget.observe(50, 1, 10, 100); // the answer to the first of the five
    assert.deepEqual([budget.used, budget.resetAt, budget.firstCount], [5, 10_100, 1]);
  });

  it('a new slot takes the limit the others learnt, so requests spread instead of all going to it', () => {
    const clock = new FakeClock();
    const budgets = budgetsWith(clock, [50, 30, 10], [50, 30, 10]);
    const fresh = new SlotBudget();
    assert.equal(fresh.remaining(clock.now()), Number.POSITIVE_INFINITY, 'unknown: it would draw every request');
    fresh.adoptLimit(budgets[0]!);
    assert.deepEqual([fresh.limit, fresh.windowMs, fresh.remaining(clock.now())], [50, 10_000, 50]);
    budgets.push(fresh);
    const picked = [0, 0, 0, 0, 0, 0].map(() => {
      const slot = pickSlot(budgets, 3, clock.now());
      budgets[slot]!.noteSent(clock.now());
      return slot;
    });
    assert.deepEqual(picked, [2, 2, 2, 2, 2, 2], 'the fresh slot drains towards the others');
    for (let i = 0; i < 24; i++) budgets[pickSlot(budgets, 3, clock.now())]!.noteSent(clock.now());
    assert.deepEqual(budgets.map((b) => b.remaining(clock.now())), [20, 20, 20], 'until it is level with them');
    for (let i = 0; i < 3; i++) budgets[pickSlot(budgets, 3, clock.now())]!.noteSent(clock.now());
    assert.deepEqual(budgets.map((b) => b.remaining(clock.now())), [19, 19, 19], 'then they drain together');
  });

  it('ignores the answer to a request sent with the slot\'s previous token', () => {
    const budget = new SlotBudget();
    const old = budget.noteSent(0);
    budget.resetForNewToken();
    budget.observe(300, 290, 30, 10, old);
    assert.deepEqual([budget.used, budget.firstCount, budget.fromUpstream], [0, -1, false]);
  });

  it('starts over for a new token but keeps what it learnt of the limit', () => {
    const budget = new SlotBudget(120);
    budget.observe(300, 280, 30, 0);
    budget.markExhausted(0, 30);
    budget.resetForNewToken();
    assert.deepEqual([budget.used, budget.resetAt, budget.exhaustedUntil, budget.firstCount, budget.fromUpstream], [0, 0, 0, -1, false]);
    assert.equal(budget.remaining(0, true), 118, 'the limit less a fiftieth, for jitter between here and the upstream');
    assert.equal(budget.remaining(0), 3, 'a fresh token starts slowly: a few requests until it has answered');
    assert.equal(budget.windowMs, 61_000, 'the span the count covers: the window and the bucket under way');
  });

  it('remembers the first count of a token: the evidence for a shared limit', () => {
    const budget = new SlotBudget();
    budget.observe(300, 150, 30, 0);
    budget.observe(300, 151, 30, 10);
    assert.equal(budget.firstCount, 150);
  });
});

describe('pickSlot', () => {
  it('picks the slot with the most budget left', () => {
    const clock = new FakeClock();
    const budgets = budgetsWith(clock, [300, 200, 30], [300, 50, 30], [300, 120, 30]);
    assert.equal(pickSlot(budgets, 3, clock.now()), 1);
  });

  it('never picks an exhausted slot while another has room, even one with a single request left', () => {
    const clock = new FakeClock();
    const budgets = budgetsWith(clock, [300, 10, 30], [300, 299, 30]);
    budgets[0]!.markExhausted(clock.now(), 30);
    assert.equal(pickSlot(budgets, 2, clock.now()), 1);
  });

  it('counts a slot whose window has ended as full', async () => {
    const clock = new FakeClock();
    const budgets = budgetsWith(clock, [50, 49, 2], [50, 10, 10]);
    assert.equal(pickSlot(budgets, 2, clock.now()), 1);
    await clock.advance(2_000);
    assert.equal(pickSlot(budgets, 2, clock.now()), 0);
  });

  it('spreads requests sent at the same moment over equal slots', () => {
    const clock = new FakeClock();
    const budgets = budgetsWith(clock, [50, 0, 10], [50, 0, 10], [50, 0, 10]);
    const picked: number[] = [];
    for (let i = 0; i < 6; i++) {
      const slot = pickSlot(budgets, 3, clock.now());
      budgets[slot]!.noteSent(clock.now());
      picked.push(slot);
    }
    assert.deepEqual(picked, [0, 1, 2, 0, 1, 2]);
  });

  it('breaks ties from the start index, so unlimited slots go round-robin', () => {
    const budgets = [new SlotBudget(), new SlotBudget(), new SlotBudget()];
    assert.deepEqual([0, 1, 2, 3, 4].map((start) => pickSlot(budgets, 3, 0, start)), [0, 1, 2, 0, 1]);
  });

  it('looks only at the slots in rotation', () => {
    const clock = new FakeClock();
    const budgets = budgetsWith(clock, [50, 40, 10], [50, 30, 10], [50, 0, 10]);
    assert.equal(pickSlot(budgets, 2, clock.now()), 1);
  });

  it('has no slot to pick in an empty pool', () => {
    assert.equal(pickSlot([], 0, 0), -1);
  });

  it('when every slot is out of budget, picks the one whose budget returns first', () => {
    const clock = new FakeClock();
    const budgets = budgetsWith(clock, [50, 50, 8], [50, 50, 3], [50, 50, 5]);
    for (const budget of budgets) budget.markExhausted(clock.now());
    const slot = pickSlot(budgets, 3, clock.now());
    assert.equal(slot, 1);
    assert.equal(budgets[slot]!.remaining(clock.now()), 0, 'the caller can tell that none has budget');
  });
});

describe('classify429', () => {
  it('counters at or over the limit: the token\'s own budget', () => {
    assert.equal(classify429(300, 300), 'token_budget');
    assert.equal(classify429(300, 301), 'token_budget');
  });

  it('counters with budget left: another limit tripped (per resource, per user, org)', () => {
    assert.equal(classify429(300, 12), 'other');
  });

  it('no counters and no key: another limit, unless the local count says the token is spent', () => {
    assert.equal(classify429(Number.NaN, Number.NaN), 'other');
    const local = new SlotBudget(2);
    local.noteSent(0);
    assert.equal(classify429(Number.NaN, Number.NaN, local, 0), 'other');
    local.noteSent(0);
    assert.equal(classify429(Number.NaN, Number.NaN, local, 0), 'token_budget');
  });

  it('reads the limit key of a Genesys error body, and nothing from anything else', () => {
    const body = {
      message: 'Rate limit exceeded the maximum. Retry the request in [42] seconds',
      code: 'too.many.requests.retry.after',
      status: 429,
      limit: { key: 'token.rate.per.minute', namespace: 'platform.api', value: 300 },
    };
    assert.equal(limitKeyOf(body), 'token.rate.per.minute');
    for (const other of [null, 'text', { limit: null }, { limit: { key: 3 } }, { limit: { key: '' } }, { code: 'x' }]) {
      assert.equal(limitKeyOf(other), undefined, JSON.stringify(other));
    }
  });
});

describe('the limit a 429 body names', () => {
  it('per token, per client, user or organisation, or something else (a resource\'s own)', () => {
    for (const key of ['client.credentials.token.rate.per.minute', 'token.rate.per.minute']) assert.equal(limitScope(key), 'token', key);
    for (const key of ['org.app.user.rate.per.minute', 'org.user.rate.per.minute', 'mock.client.rate.per.minute', 'mock.org.rate.per.minute']) assert.equal(limitScope(key), 'shared', key);
    for (const key of ['architect.ivrs.update.rate.per.minute', 'request.bytes.max', 'tokens.rate.per.minute', 'organization.rate.per.minute']) assert.equal(limitScope(key), 'other', key);
  });

  it('takes the limit object, else a rate limit key spelt in the message; a value only when a positive number', () => {
    assert.deepEqual(namedLimitOf({ limit: { key: 'token.rate.per.minute', namespace: 'platform.api', value: 300 } }), { key: 'token.rate.per.minute', value: 300 });
    for (const value of [0, -1, '300', null, Number.POSITIVE_INFINITY]) {
      assert.deepEqual(namedLimitOf({ limit: { key: 'token.rate.per.minute', value } }), { key: 'token.rate.per.minute', value: undefined }, String(value));
    }
    assert.deepEqual(namedLimitOf({ message: 'Rate limit exceeded: org.app.user.rate.per.minute (300). Retry the request in [7] seconds' }), { key: 'org.app.user.rate.per.minute', value: undefined });
    assert.equal(namedLimitOf({ message: 'Rate limit exceeded the maximum. Retry the request in [42] seconds' }), undefined);
    assert.equal(namedLimitOf({ message: 'see e.g. the docs' }), undefined);
    assert.equal(namedLimitOf(null), undefined);
  });

  it('reads a body in chunks, and nothing from one that is not JSON', () => {
    const body = Buffer.from(JSON.stringify({ status: 429, limit: { key: 'mock.client.rate.per.minute', value: 300 } }));
    assert.deepEqual(namedLimitInBody([body.subarray(0, 10), body.subarray(10)], body.length), { key: 'mock.client.rate.per.minute', value: 300 });
    assert.equal(namedLimitInBody([Buffer.from('Too Many Requests')], 17), undefined);
    assert.equal(namedLimitInBody([], 0), undefined);
  });

  it('a value is requests per minute only where the key says per minute', () => {
    assert.equal(perMinuteOf({ key: 'token.rate.per.minute', value: 300 }), 300);
    assert.equal(perMinuteOf({ key: 'token.rate.per.hour', value: 300 }), undefined);
    assert.equal(perMinuteOf({ key: 'token.rate.per.minute', value: undefined }), undefined);
  });
});
