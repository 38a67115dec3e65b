import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRateLimit } from '../../src/pool/budget-headers.js';

// Genesys's per-token counters (docs/genesys.md §5), read from undici's raw headers.

const raw = (...pairs: string[]) => pairs.map((part) => Buffer.from(part, 'latin1'));

test('allowed, count and reset are read from their headers, whatever the case of the names', () => {
  const headers = raw('Content-Type', 'application/json', 'ININ-RateLimit-Allowed', '300', 'inin-ratelimit-count', ' 12 ', 'Inin-Ratelimit-Reset', '42');
  assert.deepEqual(readRateLimit(200, headers), { allowed: 300, count: 12, resetSeconds: 42 });
});

test('without a reset header the reset is undefined', () => {
  assert.deepEqual(readRateLimit(200, raw('inin-ratelimit-allowed', '300', 'inin-ratelimit-count', '299')), { allowed: 300, count: 299, resetSeconds: undefined });
});

test('a response without both counters reads as nothing', () => {
  assert.equal(readRateLimit(200, raw('content-type', 'text/plain')), undefined);
  assert.equal(readRateLimit(200, raw('inin-ratelimit-allowed', '300')), undefined);
});

test('a counter that is not a whole number is ignored', () => {
  assert.equal(readRateLimit(200, raw('inin-ratelimit-allowed', '300', 'inin-ratelimit-count', '12x')), undefined);
  assert.equal(readRateLimit(200, raw('inin-ratelimit-allowed', '', 'inin-ratelimit-count', '1')), undefined);
});

test('a 429 without counters reads as no budget left', () => {
  assert.deepEqual(readRateLimit(429, raw('retry-after', '42')), { allowed: 0, count: 0, resetSeconds: undefined });
});

test('a 429 with counters reads its counters', () => {
  assert.deepEqual(readRateLimit(429, raw('inin-ratelimit-allowed', '300', 'inin-ratelimit-count', '301')), { allowed: 300, count: 301, resetSeconds: undefined });
});

test('headers of the same lengths but other names are not mistaken for the counters', () => {
  // 22 and 20 bytes, like inin-ratelimit-allowed and inin-ratelimit-count.
  assert.equal(readRateLimit(200, raw('x-content-type-options', '300', 'x-amzn-requestid-abc', '1')), undefined);
});
