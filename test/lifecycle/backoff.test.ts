import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, RetryBackoff } from '../../src/lifecycle/backoff.js';
import { TokenEndpointError } from '../../src/token/endpoint.js';

const opts = { baseMs: 1_000, maxMs: 60_000 };

test('the backoff ceiling doubles with each attempt up to the maximum', () => {
  const highest = (attempt: number) => backoffDelay(attempt, { ...opts, random: () => 0.999999 });
  assert.deepEqual([1, 2, 3, 4].map((a) => Math.round(highest(a))), [1_000, 2_000, 4_000, 8_000]);
  assert.equal(Math.round(highest(20)), 60_000);
});

test('the jittered delay is never below half the base', () => {
  assert.equal(backoffDelay(5, { ...opts, random: () => 0 }), 500);
});

test("the delay is never shorter than the server's Retry-After", () => {
  assert.equal(backoffDelay(1, { ...opts, random: () => 0, retryAfterMs: 30_000 }), 30_000);
});

test('RetryBackoff keeps the wait, the failure count and the endpoint error summary until a success', () => {
  const backoff = new RetryBackoff({ ...opts, random: () => 0 });
  const delay = backoff.failed(new TokenEndpointError('rate_limited', 'token endpoint answered HTTP 429', 429, 'too_many', undefined, 5_000), 1_000);
  assert.equal(delay, 5_000);
  assert.equal(backoff.nextRetryAt, 6_000);
  assert.ok(backoff.isWaiting(5_999) && !backoff.isWaiting(6_000));
  assert.equal(backoff.failureCount, 1);
  assert.match(backoff.lastError ?? '', /HTTP 429 error=too_many/);
  backoff.lift();
  assert.equal(backoff.isWaiting(1_000), false, 'a forced refresh lifts the wait');
  assert.equal(backoff.failureCount, 1, 'but keeps the count');
  backoff.succeeded();
  assert.deepEqual([backoff.failureCount, backoff.lastError, backoff.nextRetryAt], [0, null, 0]);
});
