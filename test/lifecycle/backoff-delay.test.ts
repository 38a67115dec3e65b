import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay } from '../../src/lifecycle/backoff.js';

// Exponential backoff with jitter, driven by an injected random so each bound is one exact number.
const BASE = 1_000;
const MAX = 30_000;
/** The largest value Math.random() can return. */
const ALMOST_ONE = 1 - Number.EPSILON;
const at = (random: number) => () => random;

describe('backoffDelay', () => {
  // attempt -> the exponential ceiling min(MAX, BASE * 2^(attempt-1))
  const ceilings: [attempt: number, ceiling: number][] = [
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [5, 16_000],
    [6, 30_000], // 32 s capped
    [20, 30_000],
  ];

  for (const [attempt, ceiling] of ceilings) {
    test(`attempt ${attempt}: the delay lies between half the base and ${ceiling} ms`, () => {
      const lowest = backoffDelay(attempt, { baseMs: BASE, maxMs: MAX, random: at(0) });
      const highest = backoffDelay(attempt, { baseMs: BASE, maxMs: MAX, random: at(ALMOST_ONE) });
      assert.equal(lowest, BASE / 2);
      assert.ok(Math.abs(highest - ceiling) < 1e-6, `highest ${highest}, ceiling ${ceiling}`);
      assert.ok(highest <= ceiling);
    });
  }

  test('the jitter spreads the delay linearly over its range', () => {
    // attempt 3: range [500, 4000]
    assert.equal(backoffDelay(3, { baseMs: BASE, maxMs: MAX, random: at(0.5) }), 500 + 0.5 * 3_500);
    assert.equal(backoffDelay(3, { baseMs: BASE, maxMs: MAX, random: at(0.25) }), 500 + 0.25 * 3_500);
  });

  test('an attempt below 1 counts as the first', () => {
    for (const attempt of [0, -3]) {
      assert.equal(backoffDelay(attempt, { baseMs: BASE, maxMs: MAX, random: at(ALMOST_ONE) }), backoffDelay(1, { baseMs: BASE, maxMs: MAX, random: at(ALMOST_ONE) }));
    }
  });

  test('never above the cap without a Retry-After, however many attempts', () => {
    for (let attempt = 1; attempt <= 60; attempt++) {
      assert.ok(backoffDelay(attempt, { baseMs: BASE, maxMs: MAX, random: at(ALMOST_ONE) }) <= MAX, `attempt ${attempt}`);
    }
  });

  const retryAfterRows: { name: string; retryAfterMs: number; random: number; expected: number }[] = [
    { name: 'a Retry-After longer than the jittered delay wins', retryAfterMs: 3_000, random: 0, expected: 3_000 },
    { name: 'a Retry-After shorter than the jittered delay changes nothing', retryAfterMs: 100, random: 0.5, expected: 500 + 0.5 * 3_500 },
    { name: 'a Retry-After of 0 changes nothing', retryAfterMs: 0, random: 0, expected: 500 },
    { name: 'a Retry-After beyond the cap is still honoured (never sooner than the server asks)', retryAfterMs: 60_000, random: ALMOST_ONE, expected: 60_000 },
  ];
  for (const row of retryAfterRows) {
    test(`${row.name}`, () => {
      assert.equal(backoffDelay(3, { baseMs: BASE, maxMs: MAX, retryAfterMs: row.retryAfterMs, random: at(row.random) }), row.expected);
    });
  }

  test('without an injected random it still stays within the bounds', () => {
    for (let i = 0; i < 1_000; i++) {
      const delay = backoffDelay(4, { baseMs: BASE, maxMs: MAX });
      assert.ok(delay >= BASE / 2 && delay <= 8_000, `delay ${delay}`);
    }
  });
});
