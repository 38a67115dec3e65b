import type { Logger } from 'pino';
import type { RateCounter, RateCountStore } from '../store/store.js';
import type { Clock, TimerHandle } from '../token/clock.js';
import { FLEET_COUNT_INTERVAL_MS, fleetFactorOf, type SlotBudget } from './budget.js';
import type { FleetArrivals } from './fleet-arrivals.js';
import { BUCKETS_PER_WINDOW } from './token-limit.js';

export { FLEET_COUNT_INTERVAL_MS };

/**
 * Own sends over the window from which the budgets take the fleet ratio to reckon the others' sends
 * between batches. Lower than what the pool's sizing waits for (MIN_OWN_FOR_FACTOR in ./budget.ts): at a load's
 * start every instance draws on the one token, and until the ratio is known each reckons the others
 * sent nothing since the last batch; at 200 requests/s over two instances that overdrew the first
 * token by a fifth of its budget in the first second. Early ratios read low (the others' sends come a
 * batch late), never high, so they cannot starve an instance of its share.
 */
export const MIN_OWN_FOR_BUDGET_RATIO = 5;

/** What the batcher asks of the pool whose budgets it shares. */
export interface CountedPool {
  readonly size: number;
  readonly budgets: readonly SlotBudget[];
  /** An auto pool's arrivals, shared in the same batch for its sizer (./fleet-arrivals.ts). */
  readonly arrivals?: FleetArrivals | undefined;
}

/** The counter an auto pool's arrivals are kept under, beside its tokens' (named slot.generation). */
const ARRIVALS_COUNTER = 'arrivals';

/**
 * How many requests the fleet sends per request of this instance, over the window, from the counts
 * of the first `size` counted budgets: their fleet counts (this instance's own plus the others' as
 * the store last told) against this instance's own (fleetFactorOf). undefined while this instance
 * has sent fewer than MIN_OWN_FOR_BUDGET_RATIO to measure by. O(size), no allocation.
 */
export function fleetRatio(budgets: readonly SlotBudget[], size: number, now: number): number | undefined {
  let own = 0;
  let others = 0;
  let windowMs = 0;
  for (let i = 0; i < size; i++) {
    const b = budgets[i]!;
    if (b.fromUpstream) continue;
    const mine = b.ownCounted(now);
    own += mine;
    others += b.storeCounted(now) - mine;
    windowMs = b.windowMs;
  }
  return own < MIN_OWN_FOR_BUDGET_RATIO ? undefined : fleetFactorOf(own, others, windowMs);
}

/**
 * Shares the count of each slot's token across the fleet, for budgets counted by the sidecars
 * (./budget.ts): every FLEET_COUNT_INTERVAL_MS, one store call (RateCountStore.addRateCounts) hands
 * over this instance's sends per slot since the last call and brings back the fleet's count of each
 * token over the window. So the store sees a few calls a second per instance at any request rate,
 * never one per request; in between, each budget adds its own sends exactly and estimates the
 * others' from their average rate.
 *
 * A counter is named by slot and token generation, so a refreshed token starts with a budget of its
 * own. When the store cannot be reached the sends are kept for the next call (the count stays
 * this instance's own meanwhile), and it is said once.
 *
 * Single-threaded; at most one store call at a time.
 */
export class FleetCounts {
  private timer: TimerHandle | undefined;
  private busy = false;
  private warned = false;
  private stopped = true;

  constructor(
    private readonly pool: CountedPool,
    private readonly options: { readonly store: RateCountStore; readonly key: string; readonly clock: Clock; readonly log: Logger; readonly intervalMs?: number },
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One batch: this instance's sends out, the fleet's counts in. */
  async exchange(): Promise<void> {
    if (this.busy) return;
    const { budgets, size } = this.pool;
    const counters: RateCounter[] = [];
    const slots: number[] = [];
    const generations: number[] = [];
    for (let i = 0; i < size; i++) {
      const budget = budgets[i]!;
      if (budget.generation < 0) continue;
      counters.push({ name: `${i}.${budget.generation}`, delta: budget.takePending() });
      slots.push(i);
      generations.push(budget.generation);
    }
    if (counters.length === 0) return;
    const arrivals = this.pool.arrivals;
    if (arrivals !== undefined) counters.push({ name: ARRIVALS_COUNTER, delta: arrivals.takePending() });
    const { store, key, clock } = this.options;
    const limit = budgets[slots[0]!]!.tokenLimit;
    const bucketMs = limit.bucketMs;
    this.busy = true;
    try {
      const totals = await store.addRateCounts(key, Math.floor(clock.now() / bucketMs), BUCKETS_PER_WINDOW, Math.ceil((3 * limit.windowMs) / 1000) + 5, counters);
      const now = clock.now();
      slots.forEach((slot, j) => {
        const budget = budgets[slot]!;
        if (budget.generation === generations[j]) budget.applyFleetCount(totals[j] ?? 0, now);
      });
      if (arrivals !== undefined) arrivals.applyFleet(totals[slots.length] ?? 0, now);
      // What each budget scales its own sends by until the next batch.
      const ratio = fleetRatio(budgets, size, now);
      if (ratio !== undefined) for (let i = 0; i < budgets.length; i++) budgets[i]!.fleetFactor = ratio;
      this.warned = false;
    } catch (err) {
      // Not lost: the next batch hands them over.
      slots.forEach((slot, j) => {
        const budget = budgets[slot]!;
        if (budget.generation === generations[j]) budget.returnPending(counters[j]!.delta);
      });
      if (arrivals !== undefined) arrivals.returnPending(counters[slots.length]!.delta);
      if (!this.warned) {
        this.warned = true;
        this.options.log.warn({ err: (err as Error)?.message }, "could not share this instance's request counts through the store; counting its own until the store answers");
      }
    } finally {
      this.busy = false;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      void this.exchange().finally(() => this.schedule());
    }, this.options.intervalMs ?? FLEET_COUNT_INTERVAL_MS);
    this.timer.unref?.();
  }
}
