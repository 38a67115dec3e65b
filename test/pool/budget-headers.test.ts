import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRateLimit } from '../../src/pool/budget-headers.js';

// The budget headers an upstream may send (docs/genesys.md §5), read from undici's raw headers:
// Genesys's old inin-ratelimit-*, the IETF drafts' RateLimit fields in both forms, x-ratelimit-*.

const raw = (...pairs: string[]) => pairs.map((part) => Buffer.from(part, 'latin1'));
/** 2027-01-01T00:00:00Z, the clock of the epoch-reset tests. */
const NOW = Date.UTC(2027, 0, 1);
const clock = () => NOW;
const noClock = () => assert.fail('a delta reset needs no clock');

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
  assert.deepEqual(readRateLimit(429, raw('RateLimit-Policy', '"default";q=50;w=10', 'RateLimit', '"default";r=0;t=7')), { allowed: 50, count: 50, resetSeconds: 7 });
});

test('headers of the same lengths but other names are not mistaken for the counters', () => {
  // The lengths of every name read: 9, 15, 16, 17, 19, 20, 21 and 22 bytes.
  const sameLengths = raw(
    'x-content-type-options', '300', 'x-amzn-requestid-abc', '1', 'transfer-encoding', 'chunked', 'inin-correlation-id', 'abc',
    'x-frame-options', 'DENY', 'x-ratelimit-usee', '3', 'x-ratelimit-remainin', '4', 'ratelimix', '"default";r=1', 'ratelimit-polica', '"default";q=5',
  );
  assert.equal(readRateLimit(200, sameLengths, noClock), undefined);
});

test('IETF (draft -08 and later): the quota of the policy RateLimit names, less its remaining, and its reset', () => {
  const headers = raw('RateLimit-Policy', '"default";q=50;w=10', 'RateLimit', '"default";r=12;t=7');
  assert.deepEqual(readRateLimit(200, headers, noClock), { allowed: 50, count: 38, resetSeconds: 7 });
  // Names in any case, no t (reset unknown), a policy named by a Token, unknown parameters skipped.
  assert.deepEqual(readRateLimit(200, raw('ratelimit-policy', 'default;q=100;qu="requests";w=60;pk=:cHsdsRa894==:;acme-x=?1', 'RATELIMIT', 'default;r=100;pk=:cHsdsRa894==:;comment="a, b"')), {
    allowed: 100, count: 0, resetSeconds: undefined,
  });
});

test('IETF: of several policies, the one with the least quota left relative to its quota', () => {
  const policies = '"burst";q=100;w=1, "permin";q=300;w=60,"daily";q=10000;w=86400';
  // burst 90/100 left, permin 30/300, daily 5000/10000: permin is nearest to refusing.
  assert.deepEqual(readRateLimit(200, raw('RateLimit-Policy', policies, 'RateLimit', '"burst";r=90;t=1, "permin";r=30;t=42, "daily";r=5000;t=80000')), { allowed: 300, count: 270, resetSeconds: 42 });
  // Both fields split over several lines, as the draft allows; a limit whose policy is unlisted is skipped.
  const split = raw('RateLimit-Policy', '"burst";q=100;w=1', 'RateLimit', '"burst";r=10;t=1', 'RateLimit-Policy', '"permin";q=300;w=60', 'RateLimit', '"permin";r=250;t=42, "other";r=0;t=9');
  assert.deepEqual(readRateLimit(200, split), { allowed: 100, count: 90, resetSeconds: 1 });
  // Equals: the first.
  assert.deepEqual(readRateLimit(200, raw('RateLimit-Policy', '"a";q=10, "b";q=20', 'RateLimit', '"a";r=5;t=1, "b";r=10;t=2')), { allowed: 10, count: 5, resetSeconds: 1 });
});

test('IETF: policies that do not count requests, or have no quota, say nothing about requests', () => {
  const policies = '"bytes";q=65535;qu="content-bytes";w=10, "zero";q=0;w=10, "reqs";q=50;w=10';
  assert.deepEqual(readRateLimit(200, raw('RateLimit-Policy', policies, 'RateLimit', '"bytes";r=0;t=3, "zero";r=0;t=3, "reqs";r=40;t=5')), { allowed: 50, count: 10, resetSeconds: 5 });
  assert.equal(readRateLimit(200, raw('RateLimit-Policy', '"bytes";q=65535;qu="content-bytes"', 'RateLimit', '"bytes";r=0;t=3')), undefined);
});

test('IETF: malformed or incomplete fields are ignored', () => {
  const policy = ['RateLimit-Policy', '"default";q=50;w=10'];
  for (const value of ['"default";r=-1;t=7', '"default";r=1.5;t=7', '"default";r="1";t=7', '"default', '"default";t=7', '"default";r=12,', ';r=12', '"default";R=12', '', '   ']) {
    assert.equal(readRateLimit(200, raw(...policy, 'RateLimit', value)), undefined, value);
  }
  assert.equal(readRateLimit(200, raw('RateLimit', '"default";r=12;t=7')), undefined, 'no policy: no quota');
  assert.equal(readRateLimit(200, raw('RateLimit-Policy', '"default";q=x', 'RateLimit', '"default";r=12;t=7')), undefined);
  assert.equal(readRateLimit(200, raw('RateLimit-Policy', '"other";q=50', 'RateLimit', '"default";r=12;t=7')), undefined, 'another policy');
  // A malformed member spoils its whole field line, the members before it too; not the other lines.
  assert.equal(readRateLimit(200, raw(...policy, 'RateLimit', '"default";r=12;t=7, ]x')), undefined);
  assert.equal(readRateLimit(200, raw('RateLimit-Policy', '"default";q=50;w=10, ]x', 'RateLimit', '"default";r=12;t=7')), undefined);
  assert.deepEqual(readRateLimit(200, raw(...policy, 'RateLimit', '"default";r=12;t=7', 'RateLimit', '"default";r=1;t=7 x')), { allowed: 50, count: 38, resetSeconds: 7 });
  assert.deepEqual(readRateLimit(429, raw(...policy, 'RateLimit', 'nonsense=')), { allowed: 0, count: 0, resetSeconds: undefined }, 'a 429 still reads as spent');
});

test('IETF draft -07: the RateLimit Dictionary of limit, remaining and reset', () => {
  assert.deepEqual(readRateLimit(200, raw('RateLimit-Policy', '100;w=10', 'RateLimit', 'limit=100, remaining=50, reset=5')), { allowed: 100, count: 50, resetSeconds: 5 });
  assert.deepEqual(readRateLimit(200, raw('RateLimit', 'limit=100,remaining=0')), { allowed: 100, count: 100, resetSeconds: undefined });
  assert.equal(readRateLimit(200, raw('RateLimit', 'limit=100, reset=5')), undefined, 'no remaining: nothing says how much is used');
});

test('older IETF drafts: RateLimit-Limit, -Remaining and -Reset in delta seconds', () => {
  assert.deepEqual(readRateLimit(200, raw('RateLimit-Limit', '100', 'RateLimit-Remaining', '60', 'RateLimit-Reset', '42'), noClock), { allowed: 100, count: 40, resetSeconds: 42 });
  assert.deepEqual(readRateLimit(200, raw('ratelimit-limit', '100, 100;w=60, 1000;w=3600', 'ratelimit-remaining', '100')), { allowed: 100, count: 0, resetSeconds: undefined });
  assert.deepEqual(readRateLimit(200, raw('RateLimit-Limit', '10', 'RateLimit-Remaining', '11')), { allowed: 10, count: 0, resetSeconds: undefined }, 'never a negative count');
  assert.equal(readRateLimit(200, raw('RateLimit-Limit', '100', 'RateLimit-Reset', '42')), undefined, 'no remaining');
  assert.equal(readRateLimit(200, raw('RateLimit-Limit', 'lots', 'RateLimit-Remaining', '1')), undefined);
  assert.deepEqual(readRateLimit(200, raw('RateLimit-Limit', '100', 'RateLimit-Remaining', '60', 'RateLimit-Reset', 'soon')), { allowed: 100, count: 40, resetSeconds: undefined });
});

test('x-ratelimit: limit with used, or with remaining where used is not sent', () => {
  const reset = String(NOW / 1000 + 10);
  assert.deepEqual(readRateLimit(200, raw('x-ratelimit-limit', '50', 'x-ratelimit-remaining', '12', 'x-ratelimit-used', '38', 'x-ratelimit-reset', reset), clock), { allowed: 50, count: 38, resetSeconds: 10 });
  assert.deepEqual(readRateLimit(200, raw('X-RateLimit-Limit', '50', 'X-RateLimit-Remaining', '12'), noClock), { allowed: 50, count: 38, resetSeconds: undefined });
  assert.deepEqual(readRateLimit(200, raw('X-RATELIMIT-LIMIT', '50', 'X-RATELIMIT-USED', '7', 'X-RATELIMIT-RESET', '30'), noClock), { allowed: 50, count: 7, resetSeconds: 30 });
  assert.equal(readRateLimit(200, raw('x-ratelimit-limit', '50', 'x-ratelimit-reset', '30')), undefined, 'neither used nor remaining');
  assert.equal(readRateLimit(200, raw('x-ratelimit-remaining', '12', 'x-ratelimit-used', '38')), undefined, 'no limit');
  assert.equal(readRateLimit(200, raw('x-ratelimit-limit', '50', 'x-ratelimit-used', '-1')), undefined);
});

test('a reset of at least 1e9 is an epoch second: seconds from now to it, not rounded again, 0 once past', () => {
  const at = (reset: number) => readRateLimit(200, raw('x-ratelimit-limit', '50', 'x-ratelimit-remaining', '1', 'x-ratelimit-reset', String(reset)), clock)?.resetSeconds;
  assert.equal(at(NOW / 1000 + 60), 60);
  assert.equal(readRateLimit(200, raw('x-ratelimit-limit', '50', 'x-ratelimit-remaining', '1', 'x-ratelimit-reset', String(NOW / 1000 + 60)), () => NOW + 400)?.resetSeconds, 59.6);
  assert.equal(at(NOW / 1000 - 5), 0);
  assert.equal(at(999_999_999), 999_999_999, 'just below: a delta');
  assert.equal(at(1_000_000_000), 0, 'from 1e9 on: an epoch second, long past');
  // GitLab sends RateLimit-Reset as an epoch second too.
  assert.equal(readRateLimit(200, raw('RateLimit-Limit', '60', 'RateLimit-Remaining', '0', 'RateLimit-Reset', String(NOW / 1000 + 30)), clock)?.resetSeconds, 30);
});

test('precedence: inin, then the IETF fields, then the older IETF trio, then x-ratelimit; an incomplete kind gives way', () => {
  const inin = ['inin-ratelimit-allowed', '300', 'inin-ratelimit-count', '1', 'inin-ratelimit-reset', '60'];
  const ietf = ['RateLimit-Policy', '"default";q=50;w=10', 'RateLimit', '"default";r=48;t=9'];
  const old = ['RateLimit-Limit', '40', 'RateLimit-Remaining', '37', 'RateLimit-Reset', '8'];
  const x = ['x-ratelimit-limit', '30', 'x-ratelimit-remaining', '26', 'x-ratelimit-reset', '7'];
  assert.deepEqual(readRateLimit(200, raw(...x, ...old, ...ietf, ...inin)), { allowed: 300, count: 1, resetSeconds: 60 });
  assert.deepEqual(readRateLimit(200, raw(...x, ...old, ...ietf)), { allowed: 50, count: 2, resetSeconds: 9 });
  assert.deepEqual(readRateLimit(200, raw(...x, ...old)), { allowed: 40, count: 3, resetSeconds: 8 });
  assert.deepEqual(readRateLimit(200, raw(...x)), { allowed: 30, count: 4, resetSeconds: 7 });
  // Malformed or incomplete kinds are passed over for the next complete one.
  assert.deepEqual(readRateLimit(200, raw('inin-ratelimit-allowed', 'many', 'inin-ratelimit-count', '1', 'RateLimit', '"default";r=48', ...x)), { allowed: 30, count: 4, resetSeconds: 7 });
});
