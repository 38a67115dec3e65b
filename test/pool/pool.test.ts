import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TokenPool } from '../../src/pool/pool.js';
import { PoolSlot } from '../../src/pool/slot.js';
import { TokenLimit } from '../../src/pool/token-limit.js';
import { settle } from '../helpers/fake-clock.js';
import { fleet, gate, poolOf } from '../lifecycle/rig.js';

// TokenPool over real slots (cache → coordinated → memory store and local lock), one fake clock.

async function slots(count: number) {
  const f = fleet();
  after(() => f.stop());
  const instances = [];
  for (let i = 0; i < count; i++) instances.push(await f.instance(`slot${i}`, i, `pool-test:{k}:default:${i}`));
  return { f, instances, pool: poolOf(instances.map((instance) => instance.slot)) };
}

test('requests go round-robin over the slots that hold a valid token, skipping one that does not', async () => {
  const { instances, pool } = await slots(3);
  const never = gate();
  instances[1]!.endpoint.steps.push({ hang: never.promise });
  after(() => never.release());
  pool.start();
  await settle();
  const served = Array.from({ length: 4 }, () => pool.lease()!.slot.index);
  assert.deepEqual(served, [0, 2, 0, 2]);
});

test('a lease is built once per token: every request gets the same object, with the bearer header', async () => {
  const { pool } = await slots(1);
  pool.start();
  await settle();
  const first = pool.lease()!;
  assert.equal(pool.lease(), first);
  assert.equal(first.header, 'authorization');
  assert.equal(first.value, `Bearer ${first.token.accessToken}`);
});

test('the pool is not ready until a slot holds a token, and a waiting lease gets the first one', async () => {
  const { instances, pool } = await slots(2);
  const slow = gate();
  for (const { endpoint } of instances) endpoint.steps.push({ hang: slow.promise });
  pool.start();
  await settle();
  assert.equal(pool.ready, false);
  assert.equal(pool.lease(), undefined);
  const waiting = pool.leaseWaiting();
  slow.release();
  const lease = await waiting;
  assert.equal(pool.ready, true);
  assert.equal(lease.header, 'authorization');
});

test('a 401 reported on a lease resolves with a lease on a newer token of the same slot', async () => {
  const { pool } = await slots(2);
  pool.start();
  await settle();
  const sent = pool.lease()!;
  const replacement = await sent.slot.onUnauthorized(sent.token);
  assert.equal(replacement.slot, sent.slot);
  assert.ok(replacement.token.generation > sent.token.generation);
  assert.equal(replacement.value, `Bearer ${replacement.token.accessToken}`);
});

test('status names each slot, its state and token metadata, never the token', async () => {
  const { pool } = await slots(2);
  pool.start();
  await settle();
  const status = pool.status();
  assert.deepEqual(status.map((s) => [s.slot, s.state, s.source]), [[0, 'valid', 'store'], [1, 'valid', 'store']]);
  assert.ok(!JSON.stringify(status).includes(pool.lease()!.token.accessToken));
});

test("a user token's budget carries over to the user's next token; a client-credentials token's starts over", async () => {
  // Genesys counts a user token's requests per user and client (docs/genesys.md §5), not per token.
  const f = fleet();
  after(() => f.stop());
  const { cache, metrics } = await f.instance('a');
  const limit = new TokenLimit(60_000, 10, 'setting');
  const perUser = new PoolSlot('users', 0, cache, f.clock, metrics.rateLimitCells.cell('users', 0), undefined, limit, 'user');
  const perToken = new PoolSlot('svc', 0, cache, f.clock, metrics.rateLimitCells.cell('svc', 0), undefined, limit);
  cache.start();
  await settle();
  for (const slot of [perUser, perToken]) {
    slot.lease();
    for (let i = 0; i < 4; i++) slot.noteSent();
  }
  const left = (slot: PoolSlot) => slot.budget.remaining(f.clock.now(), true);
  assert.deepEqual([left(perUser), left(perToken)], [6, 6]);
  const first = perUser.lease()!.token;
  await cache.forceRefresh();
  assert.notEqual(perUser.lease()!.token, first);
  perToken.lease();
  assert.deepEqual([left(perUser), left(perToken)], [6, 10]);
  // The fleet's counter of the user's slot keeps its name across tokens (fleet-counts.ts).
  assert.equal(perUser.budget.generation, 0);
});

test('a limit learnt from a 429 is the count when the refused request went out: requests sent after it, still unanswered, are left out', async () => {
  const { f, instances } = await slots(1);
  const pool = new TokenPool('default', [instances[0]!.slot], { clock: f.clock });
  pool.start();
  await settle();
  assert.equal(pool.tokenLimit.known, false);
  const slot = pool.lease()!.slot;
  for (let i = 0; i < 30; i++) slot.noteSent();
  // 20 answered; of the 10 still out, the refused one and the 9 sent after it (as a starved machine sees it).
  for (let i = 0; i < 20; i++) slot.noteAnswer(200);
  assert.equal(slot.rateLimited(Number.NaN, Number.NaN, 5), true, "the token's own budget: replay elsewhere");
  // 0.9 of the 21 sent up to the refused one, not of the 30 sent by the time its answer came.
  assert.equal(pool.tokenLimit.perWindow, 18);
  assert.equal(pool.tokenLimit.source, 'learned');
});
