/**
 * The rate budget of each pool slot's token, and the request-path choice made from it: which slot a
 * request goes to.
 *
 * Two ways to know how much of a token's budget is used:
 * - **counted** (the default, and the only way with Genesys since 2021, which sends no budget
 *   headers: docs/genesys.md §5): the profile's per-token limit (./token-limit.ts) against the
 *   requests the fleet sent with the token over a sliding window. This instance counts its own
 *   sends exactly (./sliding-count.ts); the other instances' come from the store in batches
 *   (./fleet-counts.ts), a few store calls a second whatever the request rate.
 * - **from the upstream's counters**, where an upstream sends budget headers (./budget-headers.ts):
 *   requests allowed per window, counted so far (by every client of the token), seconds to the
 *   window's end. They win over the count for as long as the token's answers carry them.
 *
 * Everything here is synchronous, takes time as an argument, and allocates nothing after a budget
 * is constructed: it runs once or twice per proxied request. Growth decisions (a pool that sizes
 * itself) are in ./budget-growth.ts; telling a budget 429 from any other in ./budget-429.ts.
 */

import { SlidingCount } from './sliding-count.js';
import { BUCKETS_PER_WINDOW, TokenLimit } from './token-limit.js';

/**
 * A token the whole fleet sent at most this many requests with (3, or a tenth of the limit) is
 * fresh: a 429 on it says the limit it met is not its own.
 */
export function freshTokenRequests(perWindow: number): number {
  return Math.max(3, perWindow / 10);
}

/**
 * Slow start of a counted token: until it has had SLOW_START_ANSWERS answers that were not 429s,
 * this instance keeps at most SLOW_START_BURST + 2 × those answers of its requests unanswered. Every
 * instance draws on a fresh token (it has the most budget) before any hears of the others' sends,
 * and a limit that is not per token refuses it at once; with a slow start neither costs more than a
 * few requests, and a refused fresh token is told from one the fleet used up.
 */
export const SLOW_START_BURST = 3;
const SLOW_START_ANSWERS = 5;

/**
 * How often each instance hands its sends to the store and reads the fleet's (./fleet-counts.ts): 4
 * store calls a second per profile. What an instance has not heard of the others' sends is at most
 * about two of these.
 */
export const FLEET_COUNT_INTERVAL_MS = 250;

/** The window of a per-token limit when nothing says otherwise: Genesys's is a minute. */
export const LOCAL_WINDOW_MS = 60_000;

/**
 * Budget headers send their reset in whole seconds (rounded up), so two responses of one window may
 * put its end up to a second apart. A reported end later than the known one by more than this is a
 * new window.
 */
const RESET_ROUNDING_MS = 1_000;

/** How long a slot is left alone after a budget 429 that says neither Retry-After nor a reset. */
const DEFAULT_EXHAUSTED_MS = 1_000;

/** Own requests between two answers of a window before their ratio to the count's rise is taken as the fleet's. */
export const MIN_OWN_FOR_FACTOR = 20;
/** Bounds that ratio: under a limit shared by all tokens it reads every token's traffic, not one's. */
export const MAX_FLEET_FACTOR = 16;

/**
 * How many the fleet counted per one of this instance's over a window of `windowMs` (sends, or
 * arrivals), from this instance's own count and the others' as the store last told. The others' are
 * filed under the bucket of the batch that handed them over, half a batch late on average, so they
 * stay in the window that much longer than this instance's own: counted over the window's length,
 * not over that longer span. Bounded to [1, MAX_FLEET_FACTOR]; `own` must be positive.
 */
export function fleetFactorOf(own: number, others: number, windowMs: number): number {
  const lateness = windowMs > 0 ? windowMs / (windowMs + FLEET_COUNT_INTERVAL_MS / 2) : 1;
  const factor = (own + others * lateness) / own;
  return factor < 1 ? 1 : factor > MAX_FLEET_FACTOR ? MAX_FLEET_FACTOR : factor;
}

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
  /** Requests allowed per window by the upstream's counters (fromUpstream); 0 before any. */
  private headerLimit = 0;
  /** Longest window length the upstream's counters showed (ms): at a window's start `reset` is the whole window. */
  private headerWindowMs = 0;
  /** The upstream's counters: the best estimate of the fleet's requests counted against the token in the window. */
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
  /** Whether the counters come from the upstream (for the current token; counting stands in until then). */
  fromUpstream = false;
  /** The profile's per-token limit, shared by its slots. */
  readonly tokenLimit: TokenLimit;
  /** This instance's sends with the current token over the limit's window. */
  private readonly own: SlidingCount;
  /** The other instances' sends with the token in the window, as of the last batch (fleet-counts.ts). */
  private others = 0;
  /** Own sends not yet handed to the store, and those handed over in the last batch. */
  private pending = 0;
  private lastTaken = 0;
  /** The current token's store generation: its counter's name (-1 before a token). */
  generation = -1;
  /** When this instance first sent with the current token in its current window (0: not yet): a learnt window starts there. */
  firstSentAt = 0;
  /** Answers to the current token that were neither 401 nor 429: a fresh token that served this many is not refused. */
  accepted = 0;
  /** This instance's requests with the current token, the final answers they got, and how many were 429s. */
  sentWithToken = 0;
  answered = 0;
  refused = 0;
  /**
   * When a 429 came on this token while this instance had sent it only a few requests (0: none):
   * a fresh token refused at once, unless the next batch shows the other instances had used it up.
   * `refusedFresh` is set when the batch confirms it.
   */
  suspectFreshAt = 0;
  refusedFresh = false;
  /**
   * The upstream's count (budget-headers.ts) in the first response seen for the current token; -1
   * before it. A fresh token that starts near the count of the others shares their limit (see
   * limitLooksShared).
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
   * The highest count the upstream has answered in the current window (budget-headers.ts): what the
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

  /**
   * `limit`: the profile's per-token limit (shared by its slots); a number is RATE_LIMIT_PER_TOKEN
   * in requests per minute over a minute's window, for a budget of its own; none: unknown.
   */
  constructor(limit?: TokenLimit | number) {
    this.tokenLimit = limit instanceof TokenLimit ? limit : new TokenLimit(LOCAL_WINDOW_MS, limit, limit === undefined ? 'unknown' : 'setting');
    this.own = new SlidingCount(this.tokenLimit.bucketMs, BUCKETS_PER_WINDOW);
    this.tokenLimit.onChange(() => this.own.resize(this.tokenLimit.bucketMs, BUCKETS_PER_WINDOW));
  }

  /** Requests allowed per window: the upstream's where it sends counters, else the profile's limit; 0 = unknown. */
  get limit(): number {
    return this.byHeaders ? this.headerLimit : this.countedLimit;
  }

  /** The counted limit this instance routes by: a fleet that shares the token keeps a margin for the sends it has not heard of. */
  private get countedLimit(): number {
    return this.fleetFactor > 1 ? this.tokenLimit.usableShared(FLEET_COUNT_INTERVAL_MS) : this.tokenLimit.usable;
  }

  /**
   * Whether the budget is the upstream counters' (for this token, or, for a fresh token of a pool
   * whose other tokens have them and no limit is known otherwise, the limit they showed: adoptLimit).
   */
  private get byHeaders(): boolean {
    return this.fromUpstream || (this.headerLimit > 0 && !this.tokenLimit.known);
  }

  /**
   * The limit's window (ms): the upstream's where it sends counters; else the span the count covers,
   * the profile's window and the bucket under way (a token carries its limit per that span); 0 = unknown.
   */
  get windowMs(): number {
    return this.byHeaders ? this.headerWindowMs : this.tokenLimit.windowMs + this.tokenLimit.bucketMs;
  }

  /**
   * Requests left in the window at `now`: 0 while exhausted, Infinity when no limit is known. By
   * default, what this instance may send (the routing's view): a counted fresh token no more than
   * its slow start allows, and no more of a token than this instance's share. `fleetWide`: what the
   * token has left for the whole fleet (is the pool short of budget, or only this instance's part?).
   */
  remaining(now: number, fleetWide = false): number {
    if (now < this.exhaustedUntil) return 0;
    if (!fleetWide && this.accepted < SLOW_START_ANSWERS && !this.byHeaders && this.tokenLimit.known) {
      const open = SLOW_START_BURST + 2 * this.accepted - (this.sentWithToken - this.answered);
      if (open <= 0) return 0;
      const left = this.remaining(now, true);
      return left < open ? left : open;
    }
    if (this.byHeaders) {
      if (this.resetAt !== 0 && now >= this.resetAt) return this.headerLimit;
      return this.used >= this.headerLimit ? 0 : this.headerLimit - this.used;
    }
    if (!this.tokenLimit.known) return Number.POSITIVE_INFINITY;
    const limit = this.countedLimit;
    let left = limit - this.fleetCounted(now);
    if (!fleetWide && this.fleetFactor > 1) {
      // This instance's share of the token: what it sends of the fleet's traffic. The others' sends
      // reach it a batch late, and each instance draws hardest on the token it sees as the best; if
      // each keeps to its share, they cannot overdraw a token between them whatever they missed.
      const share = limit / this.fleetFactor - this.own.total(now);
      if (share < left) left = share;
    }
    return left <= 0 ? 0 : left;
  }

  /**
   * The fleet's requests with the token over the window, by count: this instance's own, exactly,
   * plus the others' as of the last batch and, for the time since, as many per own send as the
   * fleet sends per request of this instance (`fleetFactor`, measured by the batches): load
   * balanced over the instances, a burst here is a burst there, and a fresh token is drawn on by
   * every instance before any of them hears of the others.
   */
  fleetCounted(now: number): number {
    // The others' sends not in the store yet: as many per own send as the fleet ratio says, over
    // this instance's sends of the last two batches (the others batch on their own beat).
    return this.own.total(now) + this.others + (this.pending + this.lastTaken) * (this.fleetFactor - 1);
  }

  /** This instance's own sends with the token over the window. */
  ownCounted(now: number): number {
    return this.own.total(now);
  }

  /**
   * This instance's own sends with the token over the window up to the batch before the last one it
   * handed over: what the others' count from the store is compared with to tell the fleet's ratio
   * (fleet-counts.ts fleetRatio). The others hand their sends over on their own beat, so the count
   * the store gave back holds theirs up to a batch (and a store round trip) ago; this instance's
   * own up to now would outrun them while the load rises.
   */
  ownBeforeLastBatch(now: number): number {
    const settled = this.own.total(now) - this.pending - this.lastTaken;
    return settled > 0 ? settled : 0;
  }

  /** The other instances' sends with the token over the window, as the store last told (no estimate of their latest). */
  get othersCounted(): number {
    return this.others;
  }

  /** When this slot has budget again: `now` if it has some, else the end of its exhaustion or window. */
  availableAt(now: number): number {
    if (this.remaining(now) > 0) return now;
    // A sliding count frees budget as its oldest bucket leaves: soon, and bit by bit.
    const later = this.byHeaders ? (this.resetAt === 0 ? now + DEFAULT_EXHAUSTED_MS : this.resetAt) : now + this.tokenLimit.bucketMs;
    return Math.max(this.exhaustedUntil, later);
  }

  /** Own sends since the last call, for the store's batch (fleet-counts.ts). */
  takePending(): number {
    const taken = this.pending;
    this.pending = 0;
    this.lastTaken = taken;
    return taken;
  }

  /** Own sends not yet handed to the store. */
  get pendingCount(): number {
    return this.pending;
  }

  /** Sends taken for a batch that the store did not take: they go in the next one. */
  returnPending(n: number): void {
    this.pending += n;
  }

  /**
   * The store's answer for the batch taken last: the fleet's count of the token over the window.
   * What it holds beyond this instance's own sends (less those sent since the batch was taken) is
   * the other instances'.
   */
  applyFleetCount(total: number, now: number): void {
    const ownInStore = this.own.total(now) - this.pending;
    this.others = total > ownInStore ? total - ownInStore : 0;
    if (this.suspectFreshAt !== 0 && now > this.suspectFreshAt) {
      // Refused at its first answers while the whole fleet had sent it no more than slow starts
      // allow: the limit it met is not its own.
      this.refusedFresh = total <= Math.max(freshTokenRequests(this.tokenLimit.perWindow), SLOW_START_BURST * Math.ceil(this.fleetFactor) + 1);
      this.suspectFreshAt = 0;
    }
  }

  /**
   * A request is being sent with this slot's token. Returns its ticket, to hand back to `observe`
   * with the counters of its answer.
   */
  noteSent(now: number): number {
    this.own.add(now);
    this.pending++;
    this.sentWithToken++;
    if (this.firstSentAt === 0) this.firstSentAt = now;
    if (this.resetAt !== 0 && now >= this.resetAt) {
      this.startWindow(this.tickets);
      // Upstream windows end where the upstream says; the next response tells the new end.
      this.resetAt = this.fromUpstream ? 0 : now + LOCAL_WINDOW_MS;
    }
    this.used += this.fleetFactor;
    this.sent++;
    return ++this.tickets;
  }

  /**
   * The upstream's counters from the answer to the request of `ticket` (noteSent's; without one, the
   * answer is taken to cover every request sent so far), as budget-headers.ts reads them: allowed,
   * count, reset in seconds. Answers of one window may arrive out of order, so within a window only a
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
    this.headerLimit = allowed;
    this.fromUpstream = true;
    if (resetSeconds * 1000 > this.headerWindowMs) this.headerWindowMs = resetSeconds * 1000;
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
    if (this.headerLimit > 0 && this.used < this.headerLimit) this.used = this.headerLimit;
  }

  /**
   * Takes the limit and window length the other slots have learnt, for a slot whose token has not
   * answered yet (a new slot of a growing pool): under a per-token limit a fresh token has the whole
   * budget, and counting it down as requests go out spreads them, where an unknown (unlimited)
   * budget would draw every request until the first answer comes back. No-op once it knows a limit.
   */
  adoptLimit(from: SlotBudget): void {
    if (this.headerLimit !== 0 || from.headerLimit === 0) return;
    this.headerLimit = from.headerLimit;
    this.headerWindowMs = from.headerWindowMs;
  }

  /**
   * The slot got a new token (of store generation `generation`): a per-token budget starts over (the
   * limit and window length stay).
   */
  resetForNewToken(generation = -1): void {
    this.startWindow(this.tickets);
    this.resetAt = 0;
    this.exhaustedUntil = 0;
    this.fromUpstream = false;
    this.firstCount = -1;
    this.own.clear();
    this.others = 0;
    this.pending = 0;
    this.lastTaken = 0;
    this.firstSentAt = 0;
    this.accepted = 0;
    this.sentWithToken = 0;
    this.answered = 0;
    this.refused = 0;
    this.suspectFreshAt = 0;
    this.refusedFresh = false;
    this.generation = generation;
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
