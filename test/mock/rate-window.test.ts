import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixedWindowCounter, newRateWindow, SlidingWindowLog } from '../../src/mock/rate-window.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

test('a fixed window opens at the first hit, counts refused hits too, and closes windowMs later', () => {
  const window = new FixedWindowCounter(10_000);
  assert.deepEqual([window.hit(T0), window.hit(T0 + 1_000), window.hit(T0 + 2_000)], [1, 2, 3]);
  assert.equal(window.secondsUntilReset(T0 + 2_000), 8);
  assert.equal(window.resetsAt(T0 + 2_000), T0 + 10_000);
  assert.equal(window.hit(T0 + 9_999), 4);
  assert.equal(window.hit(T0 + 10_000), 1, 'a new window opens at the first hit after the old one closed');
  assert.equal(window.resetsAt(T0 + 10_000), T0 + 20_000);
});

test('a sliding window admits at most limit requests in any windowMs and frees one unit as its oldest request leaves', () => {
  const window = new SlidingWindowLog(10_000, 3);
  assert.deepEqual([window.hit(T0), window.hit(T0 + 4_000), window.hit(T0 + 6_000)], [1, 2, 3]);
  assert.equal(window.hit(T0 + 7_000), 4, 'over the limit');
  assert.equal(window.secondsUntilReset(T0 + 7_000), 3, 'the request at T0 leaves the window at T0 + 10 s');
  assert.equal(window.resetsAt(T0 + 7_000), T0 + 10_000);
  assert.equal(window.hit(T0 + 9_999), 4, 'still three admitted in the last 10 s');
  assert.equal(window.hit(T0 + 10_000), 3, 'the first request has left: admitted, third in the window');
  assert.equal(window.hit(T0 + 10_001), 4, 'refused hits were not logged, so the window is full again');
  assert.equal(window.secondsUntilReset(T0 + 10_001), 4, 'next to leave: the request at T0 + 4 s');
});

test('unlike a fixed window, a sliding one refuses a burst that straddles a window boundary', () => {
  const fixed = newRateWindow('fixed', 10_000, 2);
  const sliding = newRateWindow('sliding', 10_000, 2);
  const times = [T0, T0 + 9_000, T0 + 9_500, T0 + 10_000, T0 + 10_500];
  assert.deepEqual(times.map((now) => fixed.hit(now) <= 2), [true, true, false, true, true]);
  assert.deepEqual(times.map((now) => sliding.hit(now) <= 2), [true, true, false, true, false]);
});

test('an empty sliding window reports a whole window until quota returns, at least one second', () => {
  const window = new SlidingWindowLog(500, 1);
  assert.equal(window.secondsUntilReset(T0), 1);
  assert.equal(window.resetsAt(T0), T0 + 500);
});

test('a sliding window keeps its memory bounded by its limit however long it runs', () => {
  const window = new SlidingWindowLog(1_000, 5);
  for (let i = 0; i < 100_000; i++) window.hit(T0 + i * 10);
  const log = (window as unknown as { admitted: number[] }).admitted;
  assert.ok(log.length <= 10, `log holds ${log.length} entries`);
});
