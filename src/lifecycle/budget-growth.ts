/**
 * When an auto pool (TOKEN_POOL_SIZE=auto) should grow, and when growing does not help. Pure
 * functions of the slots' budgets (./budget.ts) and the recent request rate, with time as an
 * argument and no allocation, so the request path may ask on every request.
 */
import type { SlotBudget } from './budget.js';

/**
 * Requests per second over roughly the last `bucketMs` to 2 × `bucketMs`: two fixed buckets, the
 * previous one weighted by how much of it still lies inside a sliding bucket-long window (the
 * sliding-window estimate rate limiters use). A load that starts from idle has an empty previous
 * bucket, which would hide it for a whole bucket; so while the previous bucket is empty the current
 * bucket's own rate counts too, measured over at least half a bucket, so that one burst of
 * simultaneous requests does not read as a huge rate. No allocation; `hit` and `perSecond` are O(1).
 */
export class RateMeter {
  private bucketStart = Number.NEGATIVE_INFINITY;
  private current = 0;
  private previous = 0;

  constructor(private readonly bucketMs = 2_000) {}

  hit(now: number): void {
    this.roll(now);
    this.current++;
  }

  perSecond(now: number): number {
    this.roll(now);
    const into = now - this.bucketStart;
    const sliding = (this.previous * (1 - into / this.bucketMs) + this.current) / this.bucketMs;
    // After a busy bucket the sliding estimate stands alone: the current bucket's own rate over as
    // little as half a bucket would read a burst of requests that were held up (by the client, or
    // by a pool out of budget) and then arrive together as a rate twice the real one.
    if (this.previous > 0) return sliding * 1000;
    const currentOnly = this.current / Math.max(into, this.bucketMs / 2);
    return (sliding > currentOnly ? sliding : currentOnly) * 1000;
  }

  private roll(now: number): void {
    if (now < this.bucketStart + this.bucketMs) return;
    if (this.bucketStart === Number.NEGATIVE_INFINITY) {
      this.bucketStart = now;
      return;
    }
    const elapsedBuckets = Math.floor((now - this.bucketStart) / this.bucketMs);
    this.previous = elapsedBuckets === 1 ? this.current : 0;
    this.current = 0;
    this.bucketStart += elapsedBuckets * this.bucketMs;
  }
}

/** Slots kept above what the measured demand needs: one spare absorbs bursts and a slow refresh. */
export const SPARE_SLOTS = 1;

/**
 * How far (in tokens' budgets) the measured steady demand may lie above a whole number of tokens
 * before that adds a slot. A demand that sits on a whole number (200 requests/s against 50 per 10 s
 * is exactly 40 tokens) is read a little above it by any measurement (a request counted at a bucket's
 * edge, a ratio smoothed over instances) and would cost a slot beyond the spare; a fraction of a
 * token's budget is left to the spare slot instead, which keeps at least half its budget for bursts.
 */
export const STEADY_TOLERANCE_TOKENS = 0.5;

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
 * 1. Steady state: a window's demand (rate × window length) over the per-token limit, rounded up
 *    past STEADY_TOLERANCE_TOKENS, plus SPARE_SLOTS. At 200 requests/s against 300/minute that is
 *    40 + 1 slots.
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
  for (let i = 0; i < size; i++) {
    const b = budgets[i]!;
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

  const steady = Math.ceil((rate * windowMs) / 1000 / limit - STEADY_TOLERANCE_TOKENS) + SPARE_SLOTS;
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
