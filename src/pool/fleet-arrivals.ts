/**
 * The requests an auto pool's instance received (sent or held), shared with the fleet through the
 * same store batch as the tokens' counts (./fleet-counts.ts), so the sizer reads the fleet's demand
 * as this instance's arrival rate times the fleet's arrivals per arrival here.
 *
 * Why not the tokens' counts: those are sends, and while the pool is short, requests wait, one
 * instance's more than another's (an instance starved of CPU, or of its share of a token). Its
 * sends then stand for less of the fleet's traffic than its arrivals do, and its arrivals times the
 * fleet's sends per send read the demand high: 255 requests/s against 200 offered, with WORKERS=2 on
 * a busy machine, and the pool went from 3 tokens to 57 at a step. Arrivals against arrivals do not
 * depend on how long anything waited.
 *
 * Single-threaded; `add` is O(1) and allocation-free (the request path calls it).
 */
import { FLEET_COUNT_INTERVAL_MS, fleetFactorOf, MIN_OWN_FOR_FACTOR } from './budget.js';
import { SlidingCount } from './sliding-count.js';
import { BUCKETS_PER_WINDOW, type TokenLimit } from './token-limit.js';

/** A fleet figure older than this (several missed batches: the store is away) no longer stands. */
const STALE_AFTER_MS = 8 * FLEET_COUNT_INTERVAL_MS;

export class FleetArrivals {
  /** This instance's arrivals over the window, bucketed as the store buckets the fleet's. */
  private readonly own: SlidingCount;
  /** Arrivals not yet handed to the store. */
  private pending = 0;
  /**
   * The fleet's arrivals over the window as of the last batch, this instance's own among them (taken
   * at the same moment: read later, the own count's window would have slid past arrivals the fleet's
   * figure still holds, and the others' would read high), and when that was (0: never).
   */
  private fleet = 0;
  private ownInFleet = 0;
  private fleetAt = 0;

  constructor(private readonly limit: TokenLimit) {
    this.own = new SlidingCount(limit.bucketMs, BUCKETS_PER_WINDOW);
    limit.onChange(() => this.own.resize(limit.bucketMs, BUCKETS_PER_WINDOW));
  }

  add(now: number): void {
    this.own.add(now);
    this.pending++;
  }

  /** Arrivals since the last call, for the store's batch. */
  takePending(): number {
    const taken = this.pending;
    this.pending = 0;
    return taken;
  }

  /** Arrivals a batch took that the store did not take: they go in the next one. */
  returnPending(n: number): void {
    this.pending += n;
  }

  /** The store's answer: the fleet's arrivals over the window. */
  applyFleet(total: number, now: number): void {
    this.fleet = total;
    this.ownInFleet = this.own.total(now) - this.pending;
    this.fleetAt = now;
  }

  /**
   * The fleet's arrivals per arrival here over the window, as of the last batch; undefined before a
   * batch, when it is stale, or while this instance has had too few arrivals to measure by
   * (fleetFactorOf, as the tokens' sends are reckoned).
   */
  ratio(now: number): number | undefined {
    if (this.fleetAt === 0 || now - this.fleetAt > STALE_AFTER_MS) return undefined;
    const own = this.ownInFleet;
    if (own < MIN_OWN_FOR_FACTOR) return undefined;
    return fleetFactorOf(own, this.fleet > own ? this.fleet - own : 0, this.limit.windowMs + this.limit.bucketMs);
  }
}
