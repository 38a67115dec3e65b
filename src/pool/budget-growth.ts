/**
 * When an auto pool (TOKEN_POOL_SIZE=auto) should grow, and when growing does not help. Pure
 * functions of the slots' budgets (./budget.ts) and the recent request rate, with time as an
 * argument and no allocation, so the request path may ask on every request.
 */
import type { SlotBudget } from './budget.js';

/** Seconds of arrivals a RateMeter keeps: the longest horizon it can measure over (a power of two: see `bucket`). */
const METER_SECONDS = 64;

/** The bucket of a second: a modulo that also holds for the negative seconds a simulation starting at 0 looks back on. */
const bucket = (second: number) => second & (METER_SECONDS - 1);

/**
 * Requests per second over the last `horizonMs` (rounded to whole seconds, at most METER_SECONDS),
 * counted in one-second buckets. Over a horizon as long as the rate limit's window, the figure is
 * the window's demand: requests that were held up somewhere (by a starved load generator, or by a
 * pool out of budget) and then arrive together count once, as they do against the budget, instead
 * of reading as a rate several times the real one. A load that started less than a horizon ago is
 * measured over the time since it started (at least a second), so a ramp from idle shows at once.
 * Allocation-free after construction; `hit` is O(1), `perSecond` O(horizon in seconds).
 */
export class RateMeter {
  private readonly counts = new Float64Array(METER_SECONDS);
  /** The second (epoch ms / 1000, floored) of the newest bucket; buckets up to it are current. */
  private second = Number.NEGATIVE_INFINITY;
  /** When the current stretch of traffic began (no gap of METER_SECONDS without a request); NaN before any. */
  private activeSince = Number.NaN;
  private lastHitAt = Number.NEGATIVE_INFINITY;

  hit(now: number): void {
    this.roll(now);
    this.counts[bucket(this.second)]! += 1;
    if (now - this.lastHitAt >= METER_SECONDS * 1000 || Number.isNaN(this.activeSince)) this.activeSince = now;
    this.lastHitAt = now;
  }

  /** How long the current stretch of traffic has run (0 before any). */
  activeFor(now: number): number {
    return Number.isNaN(this.activeSince) ? 0 : now - this.activeSince;
  }

  perSecond(now: number, horizonMs = 2_000): number {
    this.roll(now);
    if (Number.isNaN(this.activeSince)) return 0;
    const buckets = Math.max(1, Math.min(METER_SECONDS - 1, Math.round(horizonMs / 1000)));
    let sum = 0;
    for (let k = 0; k < buckets; k++) sum += this.counts[bucket(this.second - k)]!;
    // The buckets cover the current (partial) second and the whole ones before it.
    const span = (buckets - 1) * 1000 + (now - this.second * 1000);
    const active = now - this.activeSince;
    const over = active < span ? (active > 1000 ? active : 1000) : span;
    return (sum * 1000) / over;
  }

  /** Moves the newest bucket to `now`'s second, emptying the buckets of the seconds in between. */
  private roll(now: number): void {
    const second = Math.floor(now / 1000);
    if (second <= this.second) return;
    const from = this.second === Number.NEGATIVE_INFINITY || second - this.second > METER_SECONDS ? second - METER_SECONDS + 1 : this.second + 1;
    for (let s = from; s <= second; s++) this.counts[bucket(s)] = 0;
    this.second = second;
  }
}

/**
 * Budget kept above what the measured demand needs, in tokens: at least half a token's spare absorbs
 * bursts, a slow refresh and a rate read a little high, and the pool is the demand plus that, rounded
 * up. A whole token on top of the rounding up (as before) put 200 requests/s against Genesys's
 * 300/minute at 44 tokens where 43 is the aim (the demand over the limit, rounded up, and 2).
 */
export const SPARE_SLOTS = 0.5;

/**
 * Requests per second the whole fleet sends: this instance's rate (`localRate`, a RateMeter over the
 * requests it received, sent or not) times how many requests the fleet sends per request of this
 * instance, each slot's fleetFactor (measured from the upstream's counts, which include every
 * instance's requests) weighted by this instance's requests on it in the current window. Every
 * instance sees the same counters, so the fleet reaches one figure without talking. Under a limit
 * shared by all tokens the counts read every token's traffic and inflate the figure;
 * limitLooksShared stops growth there.
 */
export function fleetRate(budgets: readonly SlotBudget[], size: number, now: number, localRate: number): number {
  let weighted = 0;
  let sent = 0;
  for (let i = 0; i < size; i++) {
    const b = budgets[i]!;
    if (!b.fromUpstream || b.resetAt <= now) continue;
    weighted += b.sent * b.fleetFactor;
    sent += b.sent;
  }
  return sent > 0 && weighted > sent ? (localRate * weighted) / sent : localRate;
}

/**
 * The pool size the demand needs, for an auto pool. Returns `size` when no limit is known (nothing
 * to size against). The caller grows towards it through nextPoolSize, one coordinated token request
 * per new slot, and may shrink when it has stayed below the current size for a quiet period.
 *
 * Two rules, the larger wins (`rate` is `fleetRateNow` when the caller measured it, else fleetRate):
 * 1. Steady state: a window's demand (rate × window length) over the per-token limit plus
 *    SPARE_SLOTS, rounded up. The limit and window are those the routing keeps to (SlotBudget.limit and
 *    windowMs: a counted budget less its margins, over its window and a bucket), so the pool holds
 *    what the routing will spend rather than a few tokens less, which it then found short as every
 *    token ran dry and grew past by tenths. At 200 requests/s against 300/minute counted by one
 *    instance that is 41.5 + 0.5, 42 slots; the spare keeps its budget for bursts and for estimates
 *    that lag (answers of another instance not yet seen).
 * 2. Before a token runs out: requests route to the slot with the most budget left, so the slots
 *    drain together and the best slot is the last to run dry. The pool runs dry before any budget
 *    comes back when the budget left in all slots is less than the rate times the time until the
 *    first slot's budget returns; the moment the projection says so (long before the last request
 *    is refused) the pool needs enough slots for the shortfall: ceil((rate × time − left) / limit)
 *    more. With windows that open together this says what rule 1 says; it catches budget spent
 *    early in a window (a burst, or slots that were exhausted) that a rate alone does not show.
 */
export function desiredPoolSize(budgets: readonly SlotBudget[], size: number, now: number, localRate: number, fleetRateNow?: number): number {
  let limit = 0;
  let windowMs = 0;
  let left = 0;
  let firstReliefAt = Number.POSITIVE_INFINITY;
  let windows = false;
  for (let i = 0; i < size; i++) {
    const b = budgets[i]!;
    if (b.fromUpstream) windows = true;
    if (b.limit > limit) limit = b.limit;
    if (b.windowMs > windowMs) windowMs = b.windowMs;
    const remaining = b.remaining(now);
    if (remaining === Number.POSITIVE_INFINITY) return size;
    left += remaining;
    const availableAt = b.availableAt(now);
    const relief = availableAt > now ? availableAt : b.resetAt;
    if (relief > now && relief < firstReliefAt) firstReliefAt = relief;
  }
  if (limit === 0 || windowMs === 0) return size;
  const rate = fleetRateNow ?? fleetRate(budgets, size, now, localRate);

  const steady = Math.ceil((rate * windowMs) / 1000 / limit + SPARE_SLOTS);
  // Rule 2 needs windows that end (the upstream's counters). A sliding count frees budget as it is
  // spent, a window ago, so rule 1 alone is its steady state; a step in the load shows as every
  // token out of budget, which the sizer answers from the last seconds' rate.
  if (!windows) return steady;
  const untilRelief = firstReliefAt === Number.POSITIVE_INFINITY ? windowMs : firstReliefAt - now;
  const shortfall = (rate * untilRelief) / 1000 - left;
  const beforeDry = shortfall > 0 ? size + Math.ceil(shortfall / limit) : 0;
  return steady > beforeDry ? steady : beforeDry;
}

/** What a fresh token's first counters say about the limit. */
export type LimitScope = 'per_token' | 'shared' | 'unknown';

/**
 * Whether more tokens help, judged when a slot's fresh token has reported its first counters
 * (`budgets[fresh].firstCount`). Under a per-token limit a new token starts near zero; under a
 * limit per OAuth client or per user (docs/genesys.md §10) it starts with the count the others
 * already have. `shared` (its first count is at least half the busiest other slot's count in a
 * current window) means growth does not help: stop growing, and say so once. `unknown` while the
 * others have too little use to compare with (less than a tenth of the limit), e.g. right after
 * their windows began.
 */
export function limitLooksShared(budgets: readonly SlotBudget[], size: number, fresh: number, now: number): LimitScope {
  const first = budgets[fresh]?.firstCount ?? -1;
  if (first < 0) return 'unknown';
  let busiest = 0;
  let limit = 0;
  for (let i = 0; i < size; i++) {
    const b = budgets[i]!;
    if (i === fresh || !b.fromUpstream || b.resetAt <= now) continue;
    // The upstream's own count, not `used`: under load `used` adds an estimate of the requests in
    // flight, which can dwarf a shared count and make a per-client limit look per token.
    if (b.observedCount > busiest) busiest = b.observedCount;
    if (b.limit > limit) limit = b.limit;
  }
  if (busiest === 0 || busiest < limit / 10) return 'unknown';
  return first * 2 >= busiest ? 'shared' : 'per_token';
}

/**
 * The size to grow to now, from desiredPoolSize and what is known of the limit's scope. Until a
 * fresh token has shown that the limit is per token, growth adds one slot at a time: each one is a
 * probe, so a limit shared per client or user costs at most a few needless tokens. Once it is known
 * to be per token, the pool goes straight to the demand. A shared limit stops growth. Never beyond
 * `max` (TOKEN_POOL_MAX), never below `size` (shrinking is the caller's quiet-period decision).
 */
export function nextPoolSize(desired: number, size: number, max: number, scope: LimitScope): number {
  if (scope === 'shared' || desired <= size) return size;
  const target = scope === 'per_token' ? desired : size + 1;
  return target < max ? target : max > size ? max : size;
}
