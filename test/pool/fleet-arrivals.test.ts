import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SlotBudget } from '../../src/pool/budget.js';
import { FleetArrivals } from '../../src/pool/fleet-arrivals.js';
import { FLEET_COUNT_INTERVAL_MS, FleetCounts } from '../../src/pool/fleet-counts.js';
import { TokenLimit } from '../../src/pool/token-limit.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { quietLog } from '../lifecycle/rig.js';

describe('FleetArrivals', () => {
  it('knows no ratio before a batch, then the fleet’s arrivals per own arrival; a stale figure no longer stands', () => {
    const limit = new TokenLimit(10_000, 300, 'setting');
    const arrivals = new FleetArrivals(limit);
    const now = 1_700_000_000_000;
    for (let i = 0; i < 30; i++) arrivals.add(now);
    assert.equal(arrivals.ratio(now), undefined, 'no batch yet');
    assert.equal(arrivals.takePending(), 30);
    arrivals.applyFleet(90, now);
    const ratio = arrivals.ratio(now)!;
    // 60 of the others' arrivals, counted a little less for being filed half a batch late.
    assert.ok(ratio > 2.95 && ratio < 3, `ratio ${ratio}`);
    // Arrivals since the batch are not in the store's figure, and do not dilute the ratio.
    for (let i = 0; i < 30; i++) arrivals.add(now + 100);
    assert.equal(arrivals.ratio(now + 100), ratio);
    assert.equal(arrivals.ratio(now + 8 * FLEET_COUNT_INTERVAL_MS + 1), undefined, 'stale after missed batches');
  });

  it('shared through FleetCounts: each instance reads the fleet by arrivals, however few of its requests it could send', async () => {
    const clock = new FakeClock();
    const store = new MemoryTokenStore({ now: () => clock.now() });
    const limit = () => new TokenLimit(10_000, 300, 'setting');
    const instances = [100, 50].map((perSecond) => {
      const budget = new SlotBudget(limit());
      budget.resetForNewToken(0);
      const arrivals = new FleetArrivals(budget.tokenLimit);
      const counts = new FleetCounts({ size: 1, budgets: [budget], arrivals }, { store, key: 'arrivals-test', clock, log: quietLog() });
      counts.start();
      return { perSecond, budget, arrivals, counts };
    });
    // 3 s: the first instance receives 100 requests/s and, its requests waiting, sends only 5 of
    // them; the second receives 50/s and sends them all.
    for (let ms = 0; ms < 3_000; ms += 10) {
      const now = clock.now();
      for (const instance of instances) {
        if ((ms / 10) % (100 / instance.perSecond) !== 0) continue;
        instance.arrivals.add(now);
        if (instance.perSecond === 50 || instance.budget.ownCounted(now) < 5) instance.budget.noteSent(now);
      }
      await clock.advance(10);
    }
    for (const instance of instances) instance.counts.stop();
    const now = clock.now();
    const [busy, quiet] = instances;
    const busyRatio = busy!.arrivals.ratio(now)!;
    const quietRatio = quiet!.arrivals.ratio(now)!;
    assert.ok(Math.abs(busyRatio - 1.5) < 0.1, `busy instance: ${busyRatio} (150 arriving a second over its 100)`);
    assert.ok(Math.abs(quietRatio - 3) < 0.2, `quiet instance: ${quietRatio} (150 over its 50)`);
  });
});
