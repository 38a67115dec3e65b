import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SlotBudget } from '../../src/pool/budget.js';
import { FleetCounts, UNMEASURED_FLEET_FACTOR } from '../../src/pool/fleet-counts.js';
import { TokenLimit } from '../../src/pool/token-limit.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import type { RateCounter } from '../../src/store/store.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { quietLog } from '../lifecycle/rig.js';

const LIMIT_PER_WINDOW = 50;
const WINDOW_MS = 10_000;
const ANSWER_MS = 200;

/**
 * Two instances share one fresh token (50 per 10 s) through a store, as two sidecars on one Redis at
 * a load's start: each is offered `perSecond(ms)` requests a second and sends one whenever its budget
 * says it may (the routing sends on a slot whose remaining() is above 0), holding the rest. Answers
 * come `ANSWER_MS` later. The batches run on each instance's own beat (`intervalMs`, the second
 * instance a third of a beat behind) and the store answers `storeMs` late: a starved machine, where
 * batches were seen 0.4-0.9 s apart. Returns what the token was sent in all, and each instance's
 * fleet ratio at every batch.
 */
async function shareOneToken(opts: { perSecond: (ms: number) => number; durationMs: number; intervalMs: number; storeMs: number }) {
  const clock = new FakeClock();
  const memory = new MemoryTokenStore({ now: () => clock.now() });
  const store = {
    addRateCounts: async (key: string, bucket: number, windowBuckets: number, ttl: number, counters: readonly RateCounter[]) => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, opts.storeMs / 2));
      const totals = await memory.addRateCounts(key, bucket, windowBuckets, ttl, counters);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, opts.storeMs / 2));
      return totals;
    },
  };
  const limit = new TokenLimit(WINDOW_MS, (LIMIT_PER_WINDOW * 60_000) / WINDOW_MS, 'setting');
  const instances = [0, 1].map(() => {
    const budget = new SlotBudget(limit);
    budget.resetForNewToken(1);
    const counts = new FleetCounts({ size: 1, budgets: [budget] }, { store, key: 'share-test', clock, log: quietLog(), intervalMs: opts.intervalMs });
    return { budget, counts, started: false, due: 0, ratios: [] as number[] };
  });
  const start = (i: number) => {
    instances[i]!.counts.start();
    instances[i]!.started = true;
  };
  start(0);
  let sent = 0;
  const stepMs = 5;
  for (let ms = 0; ms < opts.durationMs; ms += stepMs) {
    if (ms === Math.round(opts.intervalMs / 3 / stepMs) * stepMs) start(1);
    const now = clock.now();
    for (const instance of instances) {
      const { budget } = instance;
      if (instance.started && instance.ratios.at(-1) !== budget.fleetFactor) instance.ratios.push(budget.fleetFactor);
      instance.due += (opts.perSecond(ms) * stepMs) / 1000;
      while (instance.due >= 1 && budget.remaining(now) > 0) {
        instance.due -= 1;
        budget.noteSent(now);
        const over = ++sent > LIMIT_PER_WINDOW;
        clock.setTimeout(() => {
          budget.answered++;
          if (over) budget.refused++;
          else budget.accepted++;
        }, ANSWER_MS);
      }
    }
    await clock.advance(stepMs);
  }
  for (const { counts } of instances) counts.stop();
  return { sent, ratios: instances.map((i) => i.ratios) };
}

describe('FleetCounts: one token shared by two instances whose batches lag', () => {
  // 0 to 100 requests/s each over a second, as a load generator ramps its threads: more than the
  // token allows, so each holds what its share does not cover.
  const ramp = (ms: number) => 100 * Math.min(1, ms / 1_000);

  for (const [intervalMs, storeMs] of [[250, 0], [450, 150], [700, 200]] as const) {
    it(`batches every ${intervalMs} ms, the store answering ${storeMs} ms late: the token is not sent more than its limit`, async () => {
      const run = await shareOneToken({ perSecond: ramp, durationMs: 3_000, intervalMs, storeMs });
      // The whole window is inside the run: every request sent counts against the token.
      assert.ok(run.sent <= LIMIT_PER_WINDOW, `the token was sent ${run.sent} requests (limit ${LIMIT_PER_WINDOW}); fleet ratios ${JSON.stringify(run.ratios)}`);
      assert.ok(run.sent >= LIMIT_PER_WINDOW * 0.8, `the instances used ${run.sent} of the token's ${LIMIT_PER_WINDOW}`);
    });
  }

  it('each instance takes the prior ratio until it has measured one, then the measured one (2 for an even split)', async () => {
    const run = await shareOneToken({ perSecond: ramp, durationMs: 3_000, intervalMs: 450, storeMs: 150 });
    for (const ratios of run.ratios) {
      assert.equal(ratios[0], UNMEASURED_FLEET_FACTOR, `ratios ${JSON.stringify(ratios)}`);
      // A ratio read while the load rises errs high, never low (that is what overdrew tokens).
      assert.ok(ratios.every((r) => r >= 1.9), `ratios ${JSON.stringify(ratios)}`);
    }
  });
});
