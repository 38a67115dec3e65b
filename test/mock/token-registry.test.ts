import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockCounters } from '../../src/mock/stats.js';
import { MAX_LIVE_TOKENS, TokenRegistry } from '../../src/mock/token-registry.js';

const OPTIONS = { tokenLifetimeSeconds: 10, revokeOnIssue: false, rotateRefreshTokens: true, refreshTokenSeed: 'seed' };

test('an expired token is neither found nor counted as active', () => {
  const registry = new TokenRegistry(OPTIONS, new MockCounters());
  const token = registry.issue('client', 'client_credentials', 0);
  assert.equal(registry.find(token.value, 9_999), token);
  assert.equal(registry.activeCount(10_000), 0);
  assert.equal(registry.find(token.value, 10_000), undefined);
});

test('expiry is not counted as revocation', () => {
  const counters = new MockCounters();
  const registry = new TokenRegistry(OPTIONS, counters);
  registry.issue('client', 'client_credentials', 0);
  registry.issue('client', 'client_credentials', 20_000);
  assert.equal(counters.tokensRevoked, 0);
});

test('past MAX_LIVE_TOKENS valid tokens the oldest is evicted and counted as revoked', () => {
  const counters = new MockCounters();
  const registry = new TokenRegistry(OPTIONS, counters);
  const oldest = registry.issue('client', 'client_credentials', 0);
  for (let i = 1; i < MAX_LIVE_TOKENS; i++) registry.issue('client', 'client_credentials', 0);
  assert.equal(registry.activeCount(0), MAX_LIVE_TOKENS);
  const newest = registry.issue('client', 'client_credentials', 0);
  assert.equal(registry.activeCount(0), MAX_LIVE_TOKENS);
  assert.equal(registry.find(oldest.value, 0), undefined);
  assert.equal(registry.find(newest.value, 0), newest);
  assert.equal(counters.tokensRevoked, 1);
});

test('revoking a token twice counts it once', () => {
  const counters = new MockCounters();
  const registry = new TokenRegistry(OPTIONS, counters);
  const token = registry.issue('client', 'client_credentials', 0);
  registry.revoke(token.value);
  registry.revoke(token.value);
  assert.equal(counters.tokensRevoked, 1);
});

test('revoke-on-issue leaves user-context tokens of the same client valid', () => {
  const registry = new TokenRegistry({ ...OPTIONS, revokeOnIssue: true }, new MockCounters());
  const user = registry.issue('client', 'refresh_token', 0);
  const first = registry.issue('client', 'client_credentials', 0);
  registry.issue('client', 'client_credentials', 0);
  assert.equal(registry.find(first.value, 0), undefined);
  assert.equal(registry.find(user.value, 0), user);
});
