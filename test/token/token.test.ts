import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeToken, isFresh, refreshDueAt, safetyMarginOf, type Token } from '../../src/token/token.js';

// The pure token functions: time is a number passed in, so every case is one row.
const ISSUED_AT = Date.parse('2026-01-01T00:00:00Z');
const SECOND = 1_000;
const HOUR = 3_600 * SECOND;

function tokenLasting(lifetimeMs: number, extra: Partial<Token> = {}): Token {
  return { accessToken: 'secret-access-token', issuedAt: ISSUED_AT, expiresAt: ISSUED_AT + lifetimeMs, generation: 7, fetchedBy: 'instance-a', ...extra };
}

describe('safetyMarginOf', () => {
  const rows: { lifetimeMs: number; margin: number; why: string }[] = [
    { lifetimeMs: 3 * SECOND, margin: 300, why: '10% of a short lifetime' },
    { lifetimeMs: 60 * SECOND, margin: 6 * SECOND, why: '10% of a minute' },
    { lifetimeMs: 300 * SECOND, margin: 30 * SECOND, why: '10% reaches the cap exactly' },
    { lifetimeMs: 24 * HOUR, margin: 30 * SECOND, why: "capped at 30 s (Genesys's default 24 h lifetime)" },
    { lifetimeMs: 0, margin: 0, why: 'an already expired token has no margin' },
  ];
  for (const { lifetimeMs, margin, why } of rows) {
    test(`a token living ${lifetimeMs} ms stops being sent ${margin} ms before expiry: ${why}`, () => {
      assert.equal(safetyMarginOf(tokenLasting(lifetimeMs)), margin);
    });
  }
});

describe('isFresh', () => {
  const token = tokenLasting(60 * SECOND); // margin 6 s: fresh until issuedAt + 54 s
  const rows: { name: string; token: Token | undefined | null; now: number; fresh: boolean }[] = [
    { name: 'no token', token: undefined, now: ISSUED_AT, fresh: false },
    { name: 'a null token', token: null, now: ISSUED_AT, fresh: false },
    { name: 'just issued', token, now: ISSUED_AT, fresh: true },
    { name: 'one ms before the safety margin', token, now: ISSUED_AT + 54 * SECOND - 1, fresh: true },
    { name: 'at the safety margin', token, now: ISSUED_AT + 54 * SECOND, fresh: false },
    { name: 'inside the safety margin, not yet expired', token, now: ISSUED_AT + 59 * SECOND, fresh: false },
    { name: 'at expiry', token, now: ISSUED_AT + 60 * SECOND, fresh: false },
    { name: 'long expired', token, now: ISSUED_AT + HOUR, fresh: false },
    { name: 'a 24 h token 31 s before expiry (margin capped at 30 s)', token: tokenLasting(24 * HOUR), now: ISSUED_AT + 24 * HOUR - 31 * SECOND, fresh: true },
    { name: 'a 24 h token 30 s before expiry', token: tokenLasting(24 * HOUR), now: ISSUED_AT + 24 * HOUR - 30 * SECOND, fresh: false },
  ];
  for (const row of rows) {
    test(`${row.name}: ${row.fresh ? 'fresh' : 'not fresh'}`, () => {
      assert.equal(isFresh(row.token, row.now), row.fresh);
    });
  }
});

describe('refreshDueAt', () => {
  const rows: { name: string; lifetimeMs: number; refreshAt: number; jitter: number; dueAfterIssueMs: number }[] = [
    { name: 'at refreshAt of the lifetime without jitter', lifetimeMs: 100 * SECOND, refreshAt: 0.8, jitter: 0, dueAfterIssueMs: 80 * SECOND },
    { name: 'jitter adds up to 5% of the lifetime', lifetimeMs: 100 * SECOND, refreshAt: 0.8, jitter: 0.5, dueAfterIssueMs: 82.5 * SECOND },
    { name: 'the largest jitter stays under 5%', lifetimeMs: 100 * SECOND, refreshAt: 0.8, jitter: 0.999, dueAfterIssueMs: 80 * SECOND + 4_995 },
    { name: 'never after the token stops being fresh (10% margin)', lifetimeMs: 100 * SECOND, refreshAt: 0.88, jitter: 0.999, dueAfterIssueMs: 90 * SECOND },
    { name: 'refreshAt 1 is pulled back to the safety margin', lifetimeMs: 3 * SECOND, refreshAt: 1, jitter: 0, dueAfterIssueMs: 2_700 },
    { name: 'a 24 h token refreshes at 80% of its day', lifetimeMs: 24 * HOUR, refreshAt: 0.8, jitter: 0, dueAfterIssueMs: 0.8 * 24 * HOUR },
    { name: 'a 24 h token with refreshAt 1 refreshes 30 s before expiry', lifetimeMs: 24 * HOUR, refreshAt: 1, jitter: 0, dueAfterIssueMs: 24 * HOUR - 30 * SECOND },
  ];
  for (const row of rows) {
    test(`${row.name}`, () => {
      const due = refreshDueAt(tokenLasting(row.lifetimeMs), row.refreshAt, row.jitter);
      assert.ok(Math.abs(due - (ISSUED_AT + row.dueAfterIssueMs)) < 1e-6, `due ${due - ISSUED_AT} ms after issue, expected ${row.dueAfterIssueMs}`);
    });
  }

  test('the refresh is due while the token is still fresh, whatever refreshAt and jitter', () => {
    for (const lifetimeMs of [1 * SECOND, 3 * SECOND, 300 * SECOND, 24 * HOUR]) {
      for (const refreshAt of [0.5, 0.8, 0.95, 1]) {
        for (const jitter of [0, 0.5, 0.999]) {
          const token = tokenLasting(lifetimeMs);
          const due = refreshDueAt(token, refreshAt, jitter);
          assert.ok(due <= token.expiresAt - safetyMarginOf(token), `lifetime ${lifetimeMs}, refreshAt ${refreshAt}, jitter ${jitter}`);
          assert.ok(due > token.issuedAt, `lifetime ${lifetimeMs}, refreshAt ${refreshAt}, jitter ${jitter}`);
        }
      }
    }
  });
});

describe('describeToken', () => {
  const rows: { name: string; token: Token; now: number; expected: ReturnType<typeof describeToken> }[] = [
    {
      name: 'a 24 h token an hour old',
      token: tokenLasting(24 * HOUR),
      now: ISSUED_AT + HOUR,
      expected: { expiresAt: '2026-01-02T00:00:00.000Z', issuedAt: '2026-01-01T00:00:00.000Z', lifetimeSeconds: 86_400, ageSeconds: 3_600, generation: 7, fetchedBy: 'instance-a' },
    },
    {
      name: 'a fractional lifetime and age are rounded to whole seconds',
      token: tokenLasting(2_600, { generation: 1, fetchedBy: 'b' }),
      now: ISSUED_AT + 1_499,
      expected: { expiresAt: '2026-01-01T00:00:02.600Z', issuedAt: '2026-01-01T00:00:00.000Z', lifetimeSeconds: 3, ageSeconds: 1, generation: 1, fetchedBy: 'b' },
    },
    {
      name: 'a clock behind the issue time shows age 0, not a negative age',
      token: tokenLasting(60 * SECOND),
      now: ISSUED_AT - 5 * SECOND,
      expected: { expiresAt: '2026-01-01T00:01:00.000Z', issuedAt: '2026-01-01T00:00:00.000Z', lifetimeSeconds: 60, ageSeconds: 0, generation: 7, fetchedBy: 'instance-a' },
    },
  ];
  for (const row of rows) {
    test(`${row.name}`, () => {
      assert.deepEqual(describeToken(row.token, row.now), row.expected);
    });
  }

  test('never carries the access token', () => {
    const shown = JSON.stringify(describeToken(tokenLasting(60 * SECOND, { local: true }), ISSUED_AT));
    assert.doesNotMatch(shown, /secret-access-token/);
  });
});
