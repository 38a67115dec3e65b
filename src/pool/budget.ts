/**
 * The rate budget of each pool slot's token, and the request-path choice made from it: which slot a
 * request goes to.
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
 * itself) are in ./budget-growth.ts; telling a budget 429 from any other in ./budget-429.ts.
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

/** Own requests between two answers of a window before their ratio to the count's rise is taken as the fleet's. */
const MIN_OWN_FOR_FACTOR = 20;
/** Bounds that ratio: under a limit shared by all tokens it reads every token's traffic, not one's. */
const MAX_FLEET_FACTOR = 16;

/**
 * One slot's budget in the current rate window. `used` is the best estimate of requests counted
 * against the token in that window: the upstream's count from the freshest answer, plus the
 * requests sent after the request that answer was for (still in flight, or counted after the answer
 * was built). Those are this instance's own, known exactly by ticket, times `fleetFactor` for the
 * other instances' requests in flight meanwhile. So requests sent at the same moment spread over
 * slots instead of all picking the slot that looked best one round trip ago, and a slot the whole
 * fleet is draining is not overdrawn by the round trip.
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
  /**
   * The fleet's requests per request of this instance on this slot: how much the upstream's count
   * rose between two answers of a window, over how many of this instance's requests lay between
   * them (1 alone; about 2 with two instances sharing the load evenly). Both ends inside one window
   * make it immune to not knowing exactly where windows begin.
   */
  fleetFactor = 1;
  /** Requests this instance has sent with the slot, ever: noteSent's tickets. */
  private tickets = 0;

  /**
   * The highest `inin-ratelimit-count` the upstream has answered in the current window: what the
   * upstream said, without this instance's estimate of the requests still in flight (`used`).
   */
  get observedCount(): number {
    return this.counted;
  }

  /**
   * Between the window's first answer to one of this instance's requests and the answer that gave
   * `observedCount`: how much the upstream's count rose, and how many of this instance's requests
   * lay between them (both 0 until there are two such answers). Both ends are answers, so their
   * ratio is the fleet's requests per request of this instance, without any estimate of what is in
   * flight and without the other instances' requests counted before this one's first in the window.
   */
  get riseSinceFirstAnswer(): number {
    return this.baseTicket === 0 ? 0 : this.counted - this.baseCount;
  }

  get ownSinceFirstAnswer(): number {
    return this.baseTicket === 0 ? 0 : this.countedTicket - this.baseTicket;
  }
  /** The ticket before this window's first request from this instance. */
  private windowTicket = 0;
  /** The highest count of the window, and the ticket of the request it answered. */
  private counted = 0;
  private countedTicket = 0;
  /** The window's first answer with a ticket (0: none yet): where fleetFactor is measured from. */
  private baseCount = 0;
  private baseTicket = 0;

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

  /**
   * A request is being sent with this slot's token. Returns its ticket, to hand back to `observe`
   * with the counters of its answer.
   */
  noteSent(now: number): number {
    if (this.resetAt !== 0 && now >= this.resetAt) {
      this.startWindow(this.tickets);
      // Upstream windows end where the upstream says; the next response tells the new end.
      this.resetAt = this.fromUpstream ? 0 : now + LOCAL_WINDOW_MS;
    } else if (this.resetAt === 0 && !this.fromUpstream && this.limit > 0) {
      this.resetAt = now + LOCAL_WINDOW_MS;
    }
    this.used += this.fleetFactor;
    this.sent++;
    return ++this.tickets;
  }

  /**
   * The upstream's counters from the answer to the request of `ticket` (noteSent's; without one, the
   * answer is taken to cover every request sent so far): `inin-ratelimit-allowed`, `-count`,
   * `-reset` in seconds. Answers of one window may arrive out of order, so within a window only a
   * higher count than seen is news; a later window starts from its own count. The answer to a
   * request sent before the current window began (or before the slot's token changed) is old news
   * and ignored.
   */
  observe(allowed: number, count: number, resetSeconds: number, now: number, ticket?: number): void {
    if (!(allowed > 0) || !(count >= 0) || !(resetSeconds >= 0)) return;
    if (ticket !== undefined && ticket <= this.windowTicket) return;
    const resetAt = now + resetSeconds * 1000;
    if (this.resetAt === 0) {
      // The first counters of a window this instance has been sending in (a fresh token, or the
      // first request after a window ended): the requests sent meanwhile belong to it.
      this.resetAt = resetAt;
    } else if (now >= this.resetAt || resetAt > this.resetAt + RESET_ROUNDING_MS) {
      // A later window: what was counted belongs to the old one. This request is taken as the new
      // window's first; requests sent before a change noticed late (rounding) may be the old one's.
      this.startWindow(ticket === undefined ? this.tickets : ticket - 1);
      this.resetAt = resetAt;
      this.exhaustedUntil = Math.min(this.exhaustedUntil, now);
    } else if (resetAt < this.resetAt) {
      this.resetAt = resetAt;
    }
    this.count(count, ticket);
    this.limit = allowed;
    this.fromUpstream = true;
    if (resetSeconds * 1000 > this.windowMs) this.windowMs = resetSeconds * 1000;
    if (this.firstCount < 0) this.firstCount = count;
  }

  private count(count: number, ticket: number | undefined): void {
    if (count < this.counted) return; // an older answer, overtaken
    this.counted = count;
    if (ticket === undefined) {
      if (count > this.used) this.used = count;
      return;
    }
    this.countedTicket = ticket > this.windowTicket ? ticket : this.windowTicket;
    if (this.baseTicket === 0) {
      this.baseCount = count;
      this.baseTicket = ticket;
    } else if (ticket - this.baseTicket >= MIN_OWN_FOR_FACTOR) {
      const factor = (count - this.baseCount) / (ticket - this.baseTicket);
      this.fleetFactor = factor < 1 ? 1 : factor > MAX_FLEET_FACTOR ? MAX_FLEET_FACTOR : factor;
    }
    this.used = count + (this.tickets - this.countedTicket) * this.fleetFactor;
  }

  /** A window begins after the request of `ticketBefore`: only requests sent after it are in it. */
  private startWindow(ticketBefore: number): void {
    const ownInWindow = this.tickets - ticketBefore;
    this.sent = this.sent < ownInWindow ? this.sent : ownInWindow;
    this.used = this.sent * this.fleetFactor;
    this.windowTicket = ticketBefore;
    this.countedTicket = ticketBefore;
    this.counted = 0;
    this.baseTicket = 0;
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

  /**
   * Takes the limit and window length the other slots have learnt, for a slot whose token has not
   * answered yet (a new slot of a growing pool): under a per-token limit a fresh token has the whole
   * budget, and counting it down as requests go out spreads them, where an unknown (unlimited)
   * budget would draw every request until the first answer comes back. No-op once it knows a limit.
   */
  adoptLimit(from: SlotBudget): void {
    if (this.limit !== 0 || from.limit === 0) return;
    this.limit = from.limit;
    this.windowMs = from.windowMs;
  }

  /** The slot got a new token: a per-token budget starts over (the limit and window length stay). */
  resetForNewToken(): void {
    this.startWindow(this.tickets);
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
 * RATE_LIMIT_POLICY); -1 when `size` is 0. Ties go to the first slot from `start` on, so a caller that passes a rotating
 * counter spreads equal slots (and unlimited ones) round-robin. O(size), no allocation.
 */
export function pickSlot(budgets: readonly SlotBudget[], size: number, now: number, start = 0): number {
  if (size <= 0) return -1;
  let best = -1;
  let bestRemaining = 0;
  let soonest = 0;
  let soonestAt = Number.POSITIVE_INFINITY;
  const first = start % size;
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
