// The budget headers the mock sends on API answers (--budget-headers): none by default, as Genesys
// today, or one of three kinds, each in the format its source defines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callApi, clientCredentialsToken, mockClock, startMock } from './helpers.js';

const BUDGET_HEADER_NAMES = [
  'inin-ratelimit-allowed',
  'inin-ratelimit-count',
  'inin-ratelimit-reset',
  'ratelimit',
  'ratelimit-policy',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-used',
  'x-ratelimit-reset',
];

function budgetHeaders(response: Response): Record<string, string> {
  return Object.fromEntries(BUDGET_HEADER_NAMES.flatMap((name) => (response.headers.has(name) ? [[name, response.headers.get(name)!]] : [])));
}

test('by default a limited API sends no budget header at all, on a 200 or on its 429', async (t) => {
  const { base } = await startMock(t, { perTokenLimit: 1, perTokenWindowMs: 10_000 }, mockClock());
  const token = await clientCredentialsToken(base);
  const ok = await callApi(base, '/api/v2/tokens/me', token);
  const refused = await callApi(base, '/api/v2/tokens/me', token);
  assert.deepEqual([ok.status, refused.status], [200, 429]);
  assert.deepEqual(budgetHeaders(ok), {});
  assert.deepEqual(budgetHeaders(refused), {});
  assert.equal(refused.headers.get('retry-after'), '10', 'the 429 still says when to come back');
});

test('inin: Genesys\'s old trio only, allowed, count and reset in seconds', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 50, perTokenWindowMs: 10_000, budgetHeaders: 'inin' }, clock);
  const token = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', token);
  await clock.advance(2_500);
  assert.deepEqual(budgetHeaders(await callApi(base, '/api/v2/tokens/me', token)), {
    'inin-ratelimit-allowed': '50',
    'inin-ratelimit-count': '2',
    'inin-ratelimit-reset': '8',
  });
});

test('ietf: RateLimit-Policy names the quota and window in seconds, RateLimit the remaining quota and seconds until it returns', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 50, perTokenWindowMs: 10_000, budgetHeaders: 'ietf' }, clock);
  const token = await clientCredentialsToken(base);
  for (let i = 0; i < 37; i++) await callApi(base, '/api/v2/tokens/me', token);
  await clock.advance(3_000);
  const response = await callApi(base, '/api/v2/tokens/me', token);
  assert.deepEqual(budgetHeaders(response), {
    'ratelimit-policy': '"default";q=50;w=10',
    ratelimit: '"default";r=12;t=7',
  });
});

test('ietf: a refused request reports no quota left, never a negative one', async (t) => {
  const { base } = await startMock(t, { perTokenLimit: 1, perTokenWindowMs: 60_000, budgetHeaders: 'ietf' }, mockClock());
  const token = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', token);
  const refused = await callApi(base, '/api/v2/tokens/me', token);
  assert.equal(refused.status, 429);
  assert.deepEqual(budgetHeaders(refused), { 'ratelimit-policy': '"default";q=1;w=60', ratelimit: '"default";r=0;t=60' });
});

test('x-ratelimit: limit, remaining, used, and the reset as the epoch second the window closes, as GitHub sends it', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 50, perTokenWindowMs: 10_000, budgetHeaders: 'x-ratelimit' }, clock);
  const token = await clientCredentialsToken(base);
  const windowOpensAt = clock.now();
  await callApi(base, '/api/v2/tokens/me', token);
  await clock.advance(4_200);
  assert.deepEqual(budgetHeaders(await callApi(base, '/api/v2/tokens/me', token)), {
    'x-ratelimit-limit': '50',
    'x-ratelimit-remaining': '48',
    'x-ratelimit-used': '2',
    'x-ratelimit-reset': String((windowOpensAt + 10_000) / 1000),
  });
});

test('with a sliding window the headers count the last window-length and reset when the oldest request leaves it', async (t) => {
  const clock = mockClock();
  const { base } = await startMock(t, { perTokenLimit: 3, perTokenWindowMs: 10_000, windowKind: 'sliding', budgetHeaders: 'ietf' }, clock);
  const token = await clientCredentialsToken(base);
  await callApi(base, '/api/v2/tokens/me', token);
  await clock.advance(6_000);
  await callApi(base, '/api/v2/tokens/me', token);
  await clock.advance(4_000);
  // The first request has just left the window: one in it, this one makes two.
  const response = await callApi(base, '/api/v2/tokens/me', token);
  assert.deepEqual(budgetHeaders(response), { 'ratelimit-policy': '"default";q=3;w=10', ratelimit: '"default";r=1;t=6' });
});
