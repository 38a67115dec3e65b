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
 * token by a fifth of its budget in the first second.
 */
export const MIN_OWN_FOR_BUDGET_RATIO = 5;

/**
 * The fleet ratio each budget takes until fleetRatio has measured one: one other instance sending as
 * much as this one. An instance on a shared store cannot know before its batches come back whether
 * it is alone, and the first token is the one every instance draws on at once: reckoned alone, two
 * instances on a starved machine sent 28 and 36 with a token of 50 before either heard of the other.
 * Alone, the prior holds this instance to half its first token for its first two batches (half a
 * second; the pool grows meanwhile if the load needs it); with more instances than two it still
 * halves what they overdraw.
 */
export const UNMEASURED_FLEET_FACTOR = 2;

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
 * of the first `size` counted budgets: the others' sends as the store last told, against this
 * instance's own up to its batch before last (SlotBudget.ownBeforeLastBatch), then fleetFactorOf.
 * undefined while this instance has sent fewer than MIN_OWN_FOR_BUDGET_RATIO to measure by. O(size),
 * no allocation.
 *
 * Why not this instance's own up to now: the others' sends reach the store a batch and a round
 * trip late, so while the load or the pool is growing (every token's first window) that ratio read
 * low, and each instance took more than its share of a fresh token. On a starved machine (batches
 * 0.4-0.9 s apart) two instances read 1.6-1.85 for 2 and overdrew tokens 52 to 56 of 50. Against
 * own sends a batch older the ratio reads a little high while the load rises (an instance holds
 * back from part of its share, which the pool's growth makes up), and right in a steady load, where
 * the window's count no longer rises.
 */
export function fleetRatio(budgets: readonly SlotBudget[], size: number, now: number): number | undefined {
  let own = 0;
  let others = 0;
  let windowMs = 0;
  for (let i = 0; i < size; i++) {
    const b = budgets[i]!;
    if (b.fromUpstream) continue;
    own += b.ownBeforeLastBatch(now);
    others += b.othersCounted;
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
  /** fleetRatio has measured a ratio once: the prior (UNMEASURED_FLEET_FACTOR) no longer stands. */
  private measured = false;

  constructor(
    private readonly pool: CountedPool,
    private readonly options: { readonly store: RateCountStore; readonly key: string; readonly clock: Clock; readonly log: Logger; readonly intervalMs?: number },
  ) {}

  start(): void {
    this.stopped = false;
    if (!this.measured) this.setFleetFactor(UNMEASURED_FLEET_FACTOR);
    this.schedule();
  }

  /**
   * The counted budgets' fleet ratio (new slots take slot 0's: LeasePool). A budget on the upstream's
   * counters measures its own from them (SlotBudget.observe).
   */
  private setFleetFactor(factor: number | undefined): void {
    if (factor === undefined) return;
    const { budgets } = this.pool;
    for (let i = 0; i < budgets.length; i++) if (!budgets[i]!.fromUpstream) budgets[i]!.fleetFactor = factor;
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
      if (ratio !== undefined) this.measured = true;
      this.setFleetFactor(ratio ?? (this.measured ? undefined : UNMEASURED_FLEET_FACTOR));
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
