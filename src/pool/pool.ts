import type { Logger } from 'pino';
import type { RateLimitPolicy } from '../config/settings.js';
import { SidecarError } from '../errors.js';
import type { RateLimitedAction } from '../metrics/metrics.js';
import { systemClock, type Clock, type TimerHandle } from '../token/clock.js';
import { isFresh, type Token } from '../token/token.js';
import { pickSlot, type SlotBudget } from './budget.js';
import type { Lease, LeasePool, LeaseSlot, SentLease } from './lease.js';
import type { FleetArrivals } from './fleet-arrivals.js';
import type { FleetCounts } from './fleet-counts.js';
import type { LimitsApiResult } from './limits-api.js';
import type { PoolSizer, SizablePool } from './pool-sizer.js';
import type { PoolSlot, SlotOwner, SlotStatus } from './slot.js';
import { TokenLimit } from './token-limit.js';
import { freshTokenRequests, LOCAL_WINDOW_MS } from './budget.js';

export interface TokenPoolOptions {
  readonly clock?: Clock;
  /** RATE_LIMIT_POLICY: what a request meets when every slot is out of budget and the pool cannot grow. */
  readonly policy?: RateLimitPolicy;
  /** RATE_LIMIT_MAX_WAIT_MS: the longest a request is held (policy `wait`, or while the pool grows). */
  readonly maxWaitMs?: number;
  /** Builds slot `index` when an auto pool grows past the slots built so far. */
  readonly slotFactory?: (index: number) => PoolSlot;
  /** token_sidecar_rate_limited_total{action}. */
  readonly onRateLimited?: (action: RateLimitedAction) => void;
  /** token_sidecar_pool_size: slots in rotation, after every change. */
  readonly onSize?: (size: number) => void;
  /** The profile's per-token limit, shared with its slots' budgets. */
  readonly tokenLimit?: TokenLimit;
  /**
   * A user-context profile (refresh_token grant), whose budget is its users': `user`, one token and
   * one user's budget; `group`, a group profile's members, one slot each (compose.ts). What the log
   * and /token say when requests meet no budget: add users, or add members.
   */
  readonly userContext?: 'user' | 'group';
  readonly log?: Logger;
  /**
   * Reads the organisation's per-token limit with a token of the pool (Genesys's Limits API,
   * ./limits-api.ts): asked once, with slot 0's first token; its value replaces the default.
   */
  readonly readLimit?: (accessToken: string) => Promise<LimitsApiResult>;
}

/** At most one log line this often about requests that met no budget (with the figures since the last). */
const RATE_LIMIT_LOG_EVERY_MS = 10_000;
/** POST /token/refresh on a large pool: at most this many token requests at once. */
const REFRESH_CONCURRENCY = 4;


/** How often held requests look again for a slot with budget (one timer for all of them). */
const HOLD_POLL_MS = 25;
/** A request held this long for budget means the pool is short of the demand. */
const HELD_PROVES_DEMAND_MS = 500;

interface Held {
  readonly since: number;
  readonly deadline: number;
  readonly resolve: (sent: SentLease) => void;
  readonly reject: (err: Error) => void;
}

/**
 * The tokens of one credential profile: independent slots, each its own token lifecycle and rate
 * budget, so a run gets pool-size × Genesys's per-token rate limit (300 requests/minute each,
 * docs/genesys.md §5). Each request goes to the slot with the most budget left in its window
 * (pickSlot: O(slots), no allocation), never to an exhausted slot while another has room; slots
 * with no known limit take turns. A fixed pool keeps its slots; an auto pool has a PoolSizer that
 * puts more slots in rotation (built lazily by `slotFactory`) or fewer.
 * Single-threaded: the choice's state needs no guarding.
 */
export class TokenPool implements LeasePool, SizablePool, SlotOwner {
  private readonly slots: PoolSlot[];
  private readonly slotBudgets: SlotBudget[];
  private turn = 0;
  private started = false;
  private readonly clock: Clock;
  size: number;
  outOfBudget = false;
  /** Set by the composition root for TOKEN_POOL_SIZE=auto. */
  sizer: PoolSizer | undefined;
  /** Set by the composition root when other processes share the store: the fleet's counts of each token. */
  counts: FleetCounts | undefined;
  private held: Held[] = [];
  private holdTimer: TimerHandle | undefined;
  readonly tokenLimit: TokenLimit;
  /** Requests that met no budget since the last log line about them, and when that line was. */
  private unbudgeted = { passed: 0, refused429: 0, since: 0, loggedAt: 0 };
  /** When a request last met a pool out of budget that could not grow (for /token's note). */
  private lastOverBudgetAt = 0;

  constructor(
    readonly profile: string,
    slots: readonly PoolSlot[],
    private readonly options: TokenPoolOptions = {},
  ) {
    this.slots = [...slots];
    this.slotBudgets = this.slots.map((slot) => slot.budget);
    this.size = this.slots.length;
    this.clock = options.clock ?? systemClock;
    this.tokenLimit = options.tokenLimit ?? this.slotBudgets[0]?.tokenLimit ?? new TokenLimit(LOCAL_WINDOW_MS);
    for (const slot of this.slots) slot.owner = this;
  }

  /** An auto pool's arrivals, which FleetCounts shares with the fleet in its batches. */
  get arrivals(): FleetArrivals | undefined {
    return this.sizer?.arrivals;
  }

  get budgets(): readonly SlotBudget[] {
    return this.slotBudgets;
  }

  /** The hot path, once per request: the slot with the most budget left that holds a valid token. */
  lease(): Lease | undefined {
    const now = this.clock.now();
    this.sizer?.hit(now);
    return this.choose(now);
  }

  leaseAgain(): Lease | undefined {
    return this.choose(this.clock.now());
  }

  /** The choice itself; also for a request chosen again (held, replayed), which the sizer counted once. */
  private choose(now: number): Lease | undefined {
    const size = this.size;
    const picked = pickSlot(this.slotBudgets, size, now, this.turn);
    this.turn = this.turn >= 0x3fffffff ? 0 : this.turn + 1;
    let lease = this.slots[picked]!.lease();
    let chosen = picked;
    if (lease === undefined) {
      // That slot's token is still on its way (a new slot) or failing: the best of those that hold one.
      let best = -1;
      let bestRemaining = -1;
      for (let k = 1; k < size; k++) {
        const i = picked + k < size ? picked + k : picked + k - size;
        const remaining = this.slotBudgets[i]!.remaining(now);
        if (remaining > bestRemaining && this.slots[i]!.valid) {
          best = i;
          bestRemaining = remaining;
        }
      }
      if (best < 0) return undefined;
      lease = this.slots[best]!.lease();
      chosen = best;
      this.turn = best + 1;
    }
    this.outOfBudget = this.slotBudgets[chosen]!.remaining(now) === 0;
    return lease;
  }

  leaseWaiting(): Promise<Lease> {
    const slot = this.slots[this.turn % this.size]!;
    this.turn = this.turn >= 0x3fffffff ? 0 : this.turn + 1;
    return slot.leaseWaiting();
  }

  /**
   * Every slot in rotation is out of budget. While the pool can grow (auto, below its cap, growth not
   * stopped) the request is held for the new slot, whatever the policy, at most maxWaitMs; otherwise
   * RATE_LIMIT_POLICY decides. Resolves with the lease and its ticket (noteSent already called);
   * rejects with SidecarError `rateLimited` under `reject`.
   */
  leaseOverBudget(): Promise<SentLease> {
    const { policy = 'pass', maxWaitMs = 5_000, onRateLimited } = this.options;
    const now = this.clock.now();
    this.sizer?.check(now, this.outOfFleetBudget(now));
    const growing = this.sizer !== undefined && this.sizer.canGrow;
    if (!growing && policy === 'reject') {
      onRateLimited?.('rejected');
      const at = this.soonestBudgetAt(now);
      return Promise.reject(
        new SidecarError('rateLimited', 'every token of this profile is out of its rate budget and the pool cannot grow; the sidecar answered, the upstream was not called', {
          retryAfterSeconds: Math.max(1, Math.ceil((at - now) / 1000)),
        }),
      );
    }
    if (!growing && policy === 'pass') return this.pass();
    return new Promise<SentLease>((resolve, reject) => {
      this.held.push({ since: now, deadline: now + maxWaitMs, resolve, reject });
      if (this.holdTimer === undefined) this.holdTimer = this.clock.setTimeout(() => this.releaseHeld(), HOLD_POLL_MS);
    });
  }

  /**
   * The held requests, oldest first: each gets a slot with budget while there is one (noteSent counts
   * it at once, so the next one sees the budget it left), or is passed when its wait is over.
   */
  private releaseHeld(): void {
    this.holdTimer = undefined;
    const now = this.clock.now();
    let open = true;
    const still: Held[] = [];
    for (const waiter of this.held) {
      if (open) {
        const lease = this.choose(now);
        if (lease !== undefined && !this.outOfBudget) {
          this.options.onRateLimited?.('waited');
          waiter.resolve({ lease, ticket: lease.slot.noteSent() });
          continue;
        }
        open = false;
      }
      if (now >= waiter.deadline) this.pass().then(waiter.resolve, waiter.reject);
      else still.push(waiter);
    }
    this.held = still;
    // Requests still waiting after a while prove the demand above the pool, whatever the rates read,
    // unless a new token's slow start is what holds them (its budget is there, coming).
    if (still.length > 0 && now - still[0]!.since >= HELD_PROVES_DEMAND_MS && this.outOfFleetBudget(now)) this.sizer?.check(now, true);
    if (still.length > 0) this.holdTimer = this.clock.setTimeout(() => this.releaseHeld(), HOLD_POLL_MS);
  }

  private async pass(): Promise<SentLease> {
    this.options.onRateLimited?.('passed');
    this.noteUnbudgeted('passed');
    const lease = this.choose(this.clock.now()) ?? (await this.leaseWaiting());
    return { lease, ticket: lease.slot.noteSent() };
  }

  leaseForReplay(from: LeaseSlot): Lease | undefined {
    const lease = this.choose(this.clock.now());
    if (lease === undefined || this.outOfBudget || lease.slot === from) {
      if (!this.canWaitForBudget) this.noteUnbudgeted('refused429');
      return undefined;
    }
    this.options.onRateLimited?.('replayed');
    return lease;
  }

  get canWaitForBudget(): boolean {
    return this.sizer !== undefined && this.sizer.canGrow;
  }

  /**
   * A 401 to `sent`, from `slot` (SlotOwner). In an auto pool of more than one token, a 401 on a
   * token that is still its slot's current one and not expired is taken for what it nearly always
   * is there: another slot's new token revoked it (an endpoint that revokes older tokens on issue).
   * Whether it was is not worth waiting to learn: an instance may not have heard of the newer token
   * yet, and refreshing this slot would revoke that one in turn, a cascade of 401s across the fleet.
   * So the pool falls back to one token for the whole fleet and stops growing (PoolSizer.stopGrowth;
   * at worst, a 401 of another cause costs the run its extra tokens, said in the log and /token),
   * and the request is replayed on slot 0's token, refreshed only if it is not the newest one held.
   * Otherwise (one token, a fixed pool, or a token already replaced) guarantee 4 for the slot alone.
   */
  unauthorized(slot: PoolSlot, sent: Token): Promise<Lease> {
    const sizer = this.sizer;
    if (sizer === undefined) return slot.refreshAfter401(sent);
    if (!sizer.revokes && this.size > 1 && slot.heldToken === sent && isFresh(sent, this.clock.now())) sizer.stopGrowth('revokes', this.clock.now());
    return sizer.revokes ? this.leaseOnNewest(sent) : slot.refreshAfter401(sent);
  }

  /**
   * After a fall back to one token: slot 0's token if it was issued after the refused one and is the
   * newest any slot holds (it may be the one that revoked the others), else a newer one for slot 0
   * (compare-and-set: the newer token another instance already stored, or one fetch fleet-wide).
   * A token issued before the refused one was revoked with it.
   */
  private leaseOnNewest(sent: Token): Promise<Lease> {
    const first = this.slots[0]!;
    const held = first.heldToken;
    let newest = held === sent ? undefined : held;
    for (const slot of this.slots) {
      const token = slot.heldToken;
      if (token !== undefined && token !== sent && (newest === undefined || token.issuedAt > newest.issuedAt)) newest = token;
    }
    if (held !== undefined && held === newest && held !== sent && held.issuedAt > sent.issuedAt) {
      const lease = first.lease();
      if (lease !== undefined && lease.token === held) return Promise.resolve(lease);
    }
    return first.refreshAfter401(held ?? sent);
  }

  /**
   * A 429 without budget counters on `slot` (SlotOwner). A fresh token refused at once (the fleet
   * sent it a few requests at most) while others serve: the limit is not per token, so more tokens
   * cannot help; growth stops and the 429 reaches the client. Otherwise the token's own budget: the
   * slot is spent until Retry-After, and where no limit was known the fleet's count at this moment
   * (less a margin) becomes the learnt limit, the window ending at Retry-After.
   */
  rateLimited(slot: PoolSlot, retryAfterSeconds: number | undefined): boolean {
    const now = this.clock.now();
    const sizer = this.sizer;
    if (sizer !== undefined && sizer.stoppedShared) return false;
    const budget = slot.budget;
    const count = budget.fleetCounted(now);
    const limit = this.tokenLimit;
    if (this.size > 1 && sizer !== undefined && budget.accepted === 0 && budget.ownCounted(now) <= freshTokenRequests(limit.perWindow)) {
      if (this.counts === undefined) {
        // This instance is the fleet: its count is the token's.
        sizer.stopGrowth('shared', now);
        return false;
      }
      // Other instances may have used the token up before this one heard of it: the next batch tells.
      if (budget.suspectFreshAt === 0) budget.suspectFreshAt = now;
    }
    // The count when the refused request went out, not now: the requests this instance sent after it
    // are among those still unanswered (all of them taken as later, which errs low), and the others
    // sent in proportion. On a starved machine, where answers come late, the count now ran a fifth
    // over the limit and the limit was learnt above the upstream's.
    const unanswered = budget.sentWithToken - budget.answered;
    const countAtSend = count - (unanswered > 1 ? unanswered - 1 : 0) * budget.fleetFactor;
    if (!limit.known && countAtSend > 0) {
      const windowMs = retryAfterSeconds !== undefined && budget.firstSentAt > 0 ? now - budget.firstSentAt + retryAfterSeconds * 1000 : undefined;
      limit.learn(countAtSend, windowMs);
      this.options.log?.warn({ perWindow: limit.perWindow, windowSeconds: limit.windowMs / 1000 }, 'rate limit per token learnt from an upstream 429 (no limit was set or known): the pool now counts against it');
    }
    slot.markExhausted(retryAfterSeconds);
    return true;
  }

  /**
   * A 429 whose body named a limit over every token of the client, user or organisation (SlotOwner;
   * budget-429.ts limitScope): the upstream says more tokens cannot help, so growth stops and the
   * pool goes back to one token, as for a fresh token refused at once, without waiting for the
   * fleet's counts to confirm it.
   */
  limitNotPerToken(key: string): void {
    this.sizer?.stopGrowth('shared', this.clock.now(), key);
  }

  /**
   * Counts a request that met no budget (`passed` over budget to the upstream, or an upstream 429
   * that reached the client) and says so in the log at most every RATE_LIMIT_LOG_EVERY_MS, with
   * the figures since the last line.
   */
  private noteUnbudgeted(kind: 'passed' | 'refused429'): void {
    const now = this.clock.now();
    const u = this.unbudgeted;
    this.lastOverBudgetAt = now;
    if (u.passed + u.refused429 === 0) u.since = now;
    u[kind]++;
    if (now - u.loggedAt < RATE_LIMIT_LOG_EVERY_MS) return;
    this.options.log?.warn(
      {
        passedOverBudget: u.passed,
        upstream429sToClients: u.refused429,
        seconds: Math.round((now - u.since) / 1000),
        poolSize: this.size,
        perTokenLimit: this.tokenLimit.describe(),
        growth: this.sizer?.growth ?? null,
      },
      this.options.userContext === 'group'
        ? "requests over the rate budget of every user of the group reach the upstream, whose 429s reach the clients: the members' budgets are the limit here; add members to go faster"
        : this.options.userContext === 'user'
          ? "requests over one user's rate budget reach the upstream, whose 429s reach the clients: one user's budget is the limit here; add users (profiles) to go faster"
          : 'requests over the rate budget of every token reach the upstream, whose 429s reach the clients',
    );
    u.loggedAt = now;
    u.passed = 0;
    u.refused429 = 0;
  }

  /** Puts slots 0 to size-1 in rotation: builds and starts new ones, stops those leaving (their tokens expire). */
  resize(size: number): void {
    const { slotFactory, onSize } = this.options;
    if (size > this.slots.length && slotFactory === undefined) size = this.slots.length;
    for (let i = this.slots.length; i < size; i++) {
      const slot = slotFactory!(i);
      // A new token's budget starts from what the others learnt: the limit, and how much of the
      // fleet's traffic one request of this instance stands for.
      slot.budget.adoptLimit(this.slotBudgets[0]!);
      slot.budget.fleetFactor = this.slotBudgets[0]!.fleetFactor;
      slot.owner = this;
      this.slots.push(slot);
      this.slotBudgets.push(slot.budget);
    }
    if (this.started) {
      for (let i = this.size; i < size; i++) this.slots[i]!.start();
      for (let i = size; i < this.size; i++) this.slots[i]!.stop();
    }
    this.size = size;
    onSize?.(size);
  }

  /** Ready when at least one slot in rotation holds a valid token. */
  get ready(): boolean {
    for (let i = 0; i < this.size; i++) if (this.slots[i]!.valid) return true;
    return false;
  }

  start(): void {
    this.started = true;
    for (let i = 0; i < this.size; i++) this.slots[i]!.start();
    this.sizer?.start();
    void this.sizer?.poll();
    this.counts?.start();
    if (this.options.readLimit !== undefined) void this.readLimitOnce(this.options.readLimit);
  }

  stop(): void {
    this.started = false;
    if (this.holdTimer !== undefined) this.clock.clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    for (const waiter of this.held) this.pass().then(waiter.resolve, waiter.reject);
    this.held = [];
    this.sizer?.stop();
    this.counts?.stop();
    for (const slot of this.slots) slot.stop();
  }

  /**
   * Admin: every slot in rotation to a newer token, fleet-wide, at most REFRESH_CONCURRENCY token
   * requests at once (a large pool does not hit the token endpoint with all of them together).
   * Rejects with the first failure.
   */
  async forceRefresh(): Promise<Token[]> {
    const slots = this.slots.slice(0, this.size);
    const tokens: Token[] = new Array(slots.length);
    let next = 0;
    const worker = async () => {
      while (next < slots.length) {
        const i = next++;
        tokens[i] = await slots[i]!.forceRefresh();
      }
    };
    await Promise.all(Array.from({ length: Math.min(REFRESH_CONCURRENCY, slots.length) }, worker));
    return tokens;
  }

  status(): SlotStatus[] {
    return this.slots.slice(0, this.size).map((slot) => slot.status());
  }

  /** What /token says of the pool, its per-token limit and where that came from. */
  poolStatus(): PoolStatus {
    const sizer = this.sizer;
    const now = this.clock.now();
    const overBudgetLately = this.lastOverBudgetAt > 0 && now - this.lastOverBudgetAt < this.tokenLimit.windowMs;
    return {
      size: this.size,
      max: sizer ? sizer.max : null,
      auto: sizer !== undefined,
      growth: sizer ? sizer.growth : null,
      rateLimit: this.tokenLimit.describe(),
      ...(overBudgetLately && {
        overBudget: this.options.userContext === 'group'
          ? "the group's users' budget: add members"
          : this.options.userContext === 'user'
            ? "one user's budget: add users"
            : sizer?.canGrow ? 'growing' : 'every token is out of budget',
      }),
    };
  }

  /** The Limits API's value for the per-token limit, or why there is none (kept in /token's `rateLimit.note`). */
  private async readLimitOnce(read: (accessToken: string) => Promise<LimitsApiResult>): Promise<void> {
    let lease: Lease;
    try {
      lease = await this.slots[0]!.leaseWaiting();
    } catch {
      return; // no token: the default stands, and the readiness check says why
    }
    const result = await read(lease.token.accessToken);
    const log = this.options.log;
    if ('perMinute' in result) {
      this.tokenLimit.set(result.perMinute, 'limits-api');
      log?.info({ perMinute: result.perMinute }, 'per-token rate limit read from the Limits API');
    } else {
      this.tokenLimit.note = `Limits API: ${result.reason}; the documented default stands`;
      log?.info({ reason: result.reason, perMinute: this.tokenLimit.perMinute }, 'could not read the per-token rate limit from the Limits API; the documented default stands');
    }
  }

  /** Every slot in rotation out of budget for the whole fleet (not only this instance's share, nor a fresh token's slow start): the demand is above the pool. */
  private outOfFleetBudget(now: number): boolean {
    for (let i = 0; i < this.size; i++) if (this.slotBudgets[i]!.remaining(now, true) > 0) return false;
    return true;
  }

  private soonestBudgetAt(now: number): number {
    let at = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.size; i++) {
      const t = this.slotBudgets[i]!.availableAt(now);
      if (t < at) at = t;
    }
    return at === Number.POSITIVE_INFINITY ? now + 1_000 : at;
  }
}

/** /token's `pool` object. */
export interface PoolStatus {
  size: number;
  max: number | null;
  auto: boolean;
  /** `ok`, `at max`, or why growth stopped. */
  growth: string | null;
  /** The per-token limit in force and where it came from. */
  rateLimit: ReturnType<TokenLimit['describe']>;
  /** Present while requests meet no budget (within the last window). */
  overBudget?: string;
}
