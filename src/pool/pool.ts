import type { RateLimitPolicy } from '../config/settings.js';
import { SidecarError } from '../errors.js';
import type { RateLimitedAction } from '../metrics/metrics.js';
import { systemClock, type Clock, type TimerHandle } from '../token/clock.js';
import type { Token } from '../token/token.js';
import { pickSlot, type SlotBudget } from './budget.js';
import type { Lease, LeasePool, LeaseSlot, SentLease } from './lease.js';
import type { PoolSizer, SizablePool } from './pool-sizer.js';
import type { PoolSlot, SlotStatus } from './slot.js';

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
}

/** How often held requests look again for a slot with budget (one timer for all of them). */
const HOLD_POLL_MS = 25;

interface Held {
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
export class TokenPool implements LeasePool, SizablePool {
  private readonly slots: PoolSlot[];
  private readonly slotBudgets: SlotBudget[];
  private turn = 0;
  private started = false;
  private readonly clock: Clock;
  size: number;
  outOfBudget = false;
  /** Set by the composition root for TOKEN_POOL_SIZE=auto. */
  sizer: PoolSizer | undefined;
  private held: Held[] = [];
  private holdTimer: TimerHandle | undefined;

  constructor(
    readonly profile: string,
    slots: readonly PoolSlot[],
    private readonly options: TokenPoolOptions = {},
  ) {
    this.slots = [...slots];
    this.slotBudgets = this.slots.map((slot) => slot.budget);
    this.size = this.slots.length;
    this.clock = options.clock ?? systemClock;
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
    this.sizer?.check(now, true);
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
      this.held.push({ deadline: now + maxWaitMs, resolve, reject });
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
    if (still.length > 0) this.holdTimer = this.clock.setTimeout(() => this.releaseHeld(), HOLD_POLL_MS);
  }

  private async pass(): Promise<SentLease> {
    this.options.onRateLimited?.('passed');
    const lease = this.choose(this.clock.now()) ?? (await this.leaseWaiting());
    return { lease, ticket: lease.slot.noteSent() };
  }

  leaseForReplay(from: LeaseSlot): Lease | undefined {
    const lease = this.choose(this.clock.now());
    if (lease === undefined || this.outOfBudget || lease.slot === from) return undefined;
    this.options.onRateLimited?.('replayed');
    return lease;
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
  }

  stop(): void {
    this.started = false;
    if (this.holdTimer !== undefined) this.clock.clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    for (const waiter of this.held) this.pass().then(waiter.resolve, waiter.reject);
    this.held = [];
    this.sizer?.stop();
    for (const slot of this.slots) slot.stop();
  }

  /** Admin: every slot in rotation to a newer token, fleet-wide. Rejects with the first failure. */
  async forceRefresh(): Promise<Token[]> {
    return Promise.all(this.slots.slice(0, this.size).map((slot) => slot.forceRefresh()));
  }

  status(): SlotStatus[] {
    return this.slots.slice(0, this.size).map((slot) => slot.status());
  }

  /** What /token says of the pool. */
  poolStatus(): { size: number; max: number | null; auto: boolean; growth: string | null } {
    const sizer = this.sizer;
    return { size: this.size, max: sizer ? sizer.max : null, auto: sizer !== undefined, growth: sizer ? sizer.growth : null };
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
