/**
 * The rate budget of each pool slot's token, and the request-path choices made from it: which slot a
 * request goes to, and whether a 429 is the token's own budget.
 *
 * Genesys caps each client-credentials token at 300 requests per minute and reports on every
 * response how much of that budget is used: `inin-ratelimit-allowed`, `inin-ratelimit-count` and
 * `inin-ratelimit-reset` (seconds to the window's end), docs/genesys.md §5. Those counters are the
 * upstream's own, so they include every instance's use of the token with no store command per
 * request. Where an upstream sends none, RATE_LIMIT_PER_TOKEN (requests/minute) gives the budget and
 * this instance's own count of a one-minute window stands in.
 *
 * Everything here is synchronous, takes time as an argument, and allocates nothing after a budget
 * is constructed: it runs once or twice per proxied request. Growth decisions (a pool that sizes
 * itself) are in ./budget-growth.ts.
 */

/** The window of RATE_LIMIT_PER_TOKEN (requests per minute) when the upstream reports none. */
export const LOCAL_WINDOW_MS = 60_000;

/**
 * `inin-ratelimit-reset` is in whole seconds (rounded up), so two responses of one window may put
 * its end up to a second apart. A reported end later than the known one by more than this is a new
 * window.
 */
const RESET_ROUNDING_MS = 1_000;

/** How long a slot is left alone after a budget 429 that says neither Retry-After nor a reset. */
const DEFAULT_EXHAUSTED_MS = 1_000;

/**
 * One slot's budget in the current rate window. `used` is the best estimate of requests counted
 * against the token in that window: the upstream's count, raised by the requests this instance sent
 * since (they are in flight, or counted after that response was built), so requests sent at the
 * same moment spread over slots instead of all picking the slot that looked best a response ago.
 */
export class SlotBudget {
  /** Requests allowed per window; 0 = unknown (no counters yet and no RATE_LIMIT_PER_TOKEN). */
  limit: number;
  used = 0;
  /**
   * Requests this instance sent with the token in the current window. Against `used`, which counts
   * the whole fleet's, it tells this instance's share of the traffic (see fleetRate in
   * ./budget-growth.ts).
   */
  sent = 0;
  /** When the current window ends (epoch ms); 0 = not known (none yet, or it ended and no counters since). */
  resetAt = 0;
  /** Until when a 429 on the token's own budget keeps this slot out of the choice (epoch ms). */
  exhaustedUntil = 0;
  /** Longest window length seen (ms): at the start of a window `reset` is the whole window. */
  windowMs: number;
  /** Whether the counters come from the upstream (once seen, local counting stops). */
  fromUpstream = false;
  /**
   * `inin-ratelimit-count` of the first response seen for the current token; -1 before it. A fresh
   * token that starts near the count of the others shares their limit (see limitLooksShared).
   */
  firstCount = -1;

  /** `localLimitPerMinute`: RATE_LIMIT_PER_TOKEN, used until the upstream sends counters. */
  constructor(private readonly localLimitPerMinute?: number) {
    this.limit = localLimitPerMinute ?? 0;
    this.windowMs = localLimitPerMinute === undefined ? 0 : LOCAL_WINDOW_MS;
  }

  /** Requests left in the window at `now`: 0 while exhausted, Infinity when no limit is known. */
  remaining(now: number): number {
    if (now < this.exhaustedUntil) return 0;
    if (this.limit === 0) return Number.POSITIVE_INFINITY;
    if (this.resetAt !== 0 && now >= this.resetAt) return this.limit;
    return this.used >= this.limit ? 0 : this.limit - this.used;
  }

  /** When this slot has budget again: `now` if it has some, else the end of its exhaustion or window. */
  availableAt(now: number): number {
    if (this.remaining(now) > 0) return now;
    return Math.max(this.exhaustedUntil, this.resetAt === 0 ? now + DEFAULT_EXHAUSTED_MS : this.resetAt);
  }

  /** A request is being sent with this slot's token. */
  noteSent(now: number): void {
    if (this.resetAt !== 0 && now >= this.resetAt) {
      this.used = 0;
      this.sent = 0;
      // Upstream windows end where the upstream says; the next response tells the new end.
      this.resetAt = this.fromUpstream ? 0 : now + LOCAL_WINDOW_MS;
    } else if (this.resetAt === 0 && !this.fromUpstream && this.limit > 0) {
      this.resetAt = now + LOCAL_WINDOW_MS;
    }
    this.used++;
    this.sent++;
  }

  /**
   * The upstream's counters from a response sent with this slot's token (`inin-ratelimit-allowed`,
   * `-count`, `-reset` in seconds). Responses of one window may arrive out of order, so within a
   * window the count only rises; a later window starts from its own count.
   */
  observe(allowed: number, count: number, resetSeconds: number, now: number): void {
    if (!(allowed > 0) || !(count >= 0) || !(resetSeconds >= 0)) return;
    const resetAt = now + resetSeconds * 1000;
    const newWindow = this.resetAt === 0 || now >= this.resetAt || resetAt > this.resetAt + RESET_ROUNDING_MS;
    if (newWindow) {
      // Requests sent before a window change noticed late (rounding) may be the old window's.
      if (this.sent > count) this.sent = count;
      this.used = count;
      this.resetAt = resetAt;
      this.exhaustedUntil = Math.min(this.exhaustedUntil, now);
    } else {
      if (count > this.used) this.used = count;
      if (resetAt < this.resetAt) this.resetAt = resetAt;
    }
    this.limit = allowed;
    this.fromUpstream = true;
    if (resetSeconds * 1000 > this.windowMs) this.windowMs = resetSeconds * 1000;
    if (this.firstCount < 0) this.firstCount = count;
  }

  /**
   * A 429 that is this token's own budget (see classify429): no request goes to this slot while
   * another has room, until `Retry-After` if given, else the window's end.
   */
  markExhausted(now: number, retryAfterSeconds?: number): void {
    const until =
      retryAfterSeconds !== undefined && retryAfterSeconds >= 0
        ? now + retryAfterSeconds * 1000
        : this.resetAt > now
          ? this.resetAt
          : now + DEFAULT_EXHAUSTED_MS;
    if (until > this.exhaustedUntil) this.exhaustedUntil = until;
    if (this.limit > 0 && this.used < this.limit) this.used = this.limit;
  }

  /** The slot got a new token: a per-token budget starts over (the limit and window length stay). */
  resetForNewToken(): void {
    this.used = 0;
    this.sent = 0;
    this.resetAt = 0;
    this.exhaustedUntil = 0;
    this.fromUpstream = false;
    this.firstCount = -1;
    if (this.localLimitPerMinute !== undefined) this.limit = this.localLimitPerMinute;
  }
}

/**
 * The slot a request should use: among the first `size` budgets, the one with the most budget left
 * at `now`, never an exhausted one while another has room. When all are out of budget, the one
 * whose budget returns first (check `budgets[i].remaining(now)` to tell, and apply
 * RATE_LIMIT_POLICY). Ties go to the first slot from `start` on, so a caller that passes a rotating
 * counter spreads equal slots (and unlimited ones) round-robin. O(size), no allocation.
 */
export function pickSlot(budgets: readonly SlotBudget[], size: number, now: number, start = 0): number {
  let best = -1;
  let bestRemaining = 0;
  let soonest = 0;
  let soonestAt = Number.POSITIVE_INFINITY;
  const first = size > 0 ? start % size : 0;
  for (let k = 0; k < size; k++) {
    const i = first + k < size ? first + k : first + k - size;
    const budget = budgets[i]!;
    const remaining = budget.remaining(now);
    if (remaining > bestRemaining) {
      best = i;
      bestRemaining = remaining;
    } else if (best < 0) {
      const at = budget.availableAt(now);
      if (at < soonestAt) {
        soonest = i;
        soonestAt = at;
      }
    }
  }
  return best >= 0 ? best : soonest;
}

/** Whom a 429 concerns: the sent token's own budget, or something else that more tokens cannot fix. */
export type RateLimitCause = 'token_budget' | 'other';

/** docs/genesys.md §5: the limit keys that count requests per token. */
const TOKEN_LIMIT_KEYS: ReadonlySet<string> = new Set(['client.credentials.token.rate.per.minute', 'token.rate.per.minute']);

/**
 * Classifies an upstream 429. `allowed` and `count` are the response's `inin-ratelimit-*` counters
 * (NaN when absent); `limitKey` is the `limit.key` of the Genesys error body when it names one
 * (docs/genesys.md §5, §6: whether 429s fill it is unconfirmed, so it decides only when present).
 * - a per-token limit key, or counters at or over the limit: the token's own budget, which another
 *   slot (or a new one) can relieve;
 * - another key (per user, per OAuth client and user, per resource, org), or counters with budget
 *   left: a different limit tripped; the 429 reaches the client unchanged;
 * - neither key nor counters: the token's own budget only if the local count (RATE_LIMIT_PER_TOKEN)
 *   of `budget` says it is spent at `now`, otherwise another limit.
 */
export function classify429(
  allowed: number,
  count: number,
  limitKey?: string,
  budget?: SlotBudget,
  now = 0,
): RateLimitCause {
  if (limitKey !== undefined) return TOKEN_LIMIT_KEYS.has(limitKey) ? 'token_budget' : 'other';
  if (allowed > 0 && count >= 0) return count >= allowed ? 'token_budget' : 'other';
  if (budget !== undefined && !budget.fromUpstream && budget.limit > 0 && budget.remaining(now) === 0) return 'token_budget';
  return 'other';
}

/** The `limit.key` of a Genesys error body (docs/genesys.md §6 `ErrorBody.limit`), if it carries one. */
export function limitKeyOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const limit = (body as { limit?: unknown }).limit;
  if (typeof limit !== 'object' || limit === null) return undefined;
  const key = (limit as { key?: unknown }).key;
  return typeof key === 'string' && key !== '' ? key : undefined;
}
