import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SlotBudget } from '../../src/pool/budget.js';
import { FLEET_COUNT_INTERVAL_MS } from '../../src/pool/fleet-counts.js';
import { TokenLimit } from '../../src/pool/token-limit.js';

// Counted budgets shared by a fleet (no budget headers): each instance counts its own sends per
// token exactly and hears of the others' every FLEET_COUNT_INTERVAL_MS through the store, so what it
// keeps back must cover what the others may have sent meanwhile.

describe('TokenLimit margins', () => {
  it('one instance keeps a fiftieth of the limit back; a fleet also keeps what it can send unheard in two batches', () => {
    const genesys = new TokenLimit(60_000, 300, 'setting');
    assert.equal(genesys.usable, 294);
    // 300 a minute is 1.25 requests a batch: 3 unheard, fewer than the fiftieth (6).
    assert.equal(genesys.usableShared(FLEET_COUNT_INTERVAL_MS), 294);
    const compressed = new TokenLimit(10_000, 300, 'setting');
    assert.equal(compressed.perWindow, 50);
    assert.equal(compressed.usable, 49);
    assert.equal(compressed.usableShared(FLEET_COUNT_INTERVAL_MS), 47);
    assert.equal(new TokenLimit(10_000, 6, 'setting').usableShared(FLEET_COUNT_INTERVAL_MS), 1, 'never below one request');
  });
});

describe('a counted budget', () => {
  it('routes by the whole usable limit alone, and by the fleet margin once other instances send with the token', () => {
    const budget = new SlotBudget(new TokenLimit(10_000, 300, 'setting'));
    budget.resetForNewToken(0);
    budget.accepted = 5; // past the slow start
    const now = 1_700_000_000_000;
    assert.equal(budget.remaining(now), 49);
    budget.fleetFactor = 2;
    assert.equal(budget.remaining(now, true), 47, 'what the token has left for the fleet');
    assert.equal(budget.remaining(now), 23.5, "this instance's share of it");
    assert.equal(budget.limit, 47, 'what the pool is sized by');
  });
});
