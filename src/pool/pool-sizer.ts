import type { Logger } from 'pino';
import type { PoolSizeRecord, PoolSizeStore } from '../store/store.js';
import type { Clock, TimerHandle } from '../token/clock.js';
import { LOCAL_WINDOW_MS, MIN_OWN_FOR_FACTOR, type SlotBudget } from './budget.js';
import { TokenLimit } from './token-limit.js';
import { FleetArrivals } from './fleet-arrivals.js';
import { desiredPoolSize, limitLooksShared, nextPoolSize, RateMeter, type LimitScope } from './budget-growth.js';

/** What the sizer asks of the pool it sizes. */
export interface SizablePool {
  /** Slots in rotation. */
  readonly size: number;
  /** Every built slot's budget, index = slot; the first `size` are in rotation. */
  readonly budgets: readonly SlotBudget[];
  /** Puts slots 0 to size-1 in rotation, building the missing ones (one coordinated token each). */
  resize(size: number): void;
}

export interface PoolSizerOptions {
  readonly store: PoolSizeStore;
  /** The profile's pool-size record (poolKey). */
  readonly key: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** TOKEN_POOL_MAX. */
  readonly max: number;
  /** How often the fleet-wide size is read from the store, so every instance uses the same slots. */
  readonly pollMs?: number;
  /** How long the demand must have stayed below the size, and the size unchanged, before it shrinks. */
  readonly quietMs?: number;
}

/** How often the request path re-judges the size (each judgement is O(slots)). */
const CHECK_EVERY_MS = 100;
/** The arrival rate's horizon before a window length is known, and its longest (Genesys's window is a minute). */
const DEFAULT_RATE_HORIZON_MS = 2_000;
const MAX_RATE_HORIZON_MS = 60_000;
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_QUIET_MS = 120_000;
export const GROWTH_STOPPED_SHARED = 'stopped: limit is per client, not per token';
export const GROWTH_STOPPED_REVOKES = 'stopped: issuing a token revokes the older ones, so the pool keeps one token';
/** How the store's pool-size record says why growth stopped. */
const STOPPED_CODES = { shared: 'shared', revokes: 'revokes' } as const;
/** The arrival rate's horizon when every token is out of budget: a step in the load shows at once. */
const SHORT_RATE_HORIZON_MS = 2_000;
/** A probe's fresh token that served this many requests (or a tenth of the limit) over PROBE_MS without a 429 shows the limit is per token. */
const PROBE_ACCEPTED = 5;
const PROBE_MS = 1_000;
/** Answers a probe's token must have had before it is judged. */
const PROBE_ANSWERS = 10;
/**
 * How far past one token's limit the fleet must have been served before a counted probe's success
 * says the limit is per token: the fleet's figure is this instance's answers times the fleet ratio,
 * which read 51.7 for the 50 a client-wide limit let through.
 */
const PAST_ONE_TOKEN = 1.25;

/** Why growth stopped for good, if it did. */
export type GrowthStop = 'shared' | 'revokes';

/**
 * Sizes an auto pool (TOKEN_POOL_SIZE=auto) fleet-wide. The request path calls `hit` on every
 * request: it counts the request and, at most every CHECK_EVERY_MS, compares the pool with the
 * demand (desiredPoolSize over the slots' budgets). Growth sets the size in the store with a
 * compare-and-set on the epoch it read (PoolSizeStore's rule), so instances that see the same demand
 * grow once; every instance reads the record every `pollMs` and adopts it. Until a fresh token has
 * shown whether the limit is per token, growth goes one slot at a time and waits for that slot's
 * first counters (a probe); a fresh token that starts with the others' count (a limit per client or
 * user) stops growth for good, logged once. The pool shrinks when the demand has stayed below the
 * size for `quietMs` and the record has not changed for as long; slots leaving rotation keep their
 * tokens until they expire.
 *
 * Single-threaded; at most one store round trip at a time (`busy`).
 */
export class PoolSizer {
  private readonly meter = new RateMeter();
  /** This instance's arrivals, and the fleet's as the store batches tell (shared through FleetCounts where the store is). */
  readonly arrivals: FleetArrivals;
  private nextCheckAt = 0;
  private scope: LimitScope | 'revokes' = 'unknown';
  /** The cap was reached and said so; said again only after the pool was below it. */
  private capLogged = false;
  /** Growth stopped for the whole fleet (stopGrowth, or read from the store): the pool keeps one token. */
  private stoppedFleetWide = false;
  /** The slot whose first counters will tell the limit's scope; -1 when none is being probed. */
  private probe = -1;
  private belowSince = 0;
  private record: PoolSizeRecord | null = null;
  private timer: TimerHandle | undefined;
  private stopped = true;
  /** A store round trip (read or set of the size) is under way. */
  busy = false;
  private storeWarned = false;
  /** Requests the fleet sends per request this instance sends (1 alone), as last measured. */
  private ratio = 1;
  /** The figures of the judgement that started the store round trip under way, for its log line. */
  private lastRate = 0;
  private lastLocal = 0;
  private lastDesired = 0;
  /** That judgement grew because a request found every slot out of budget, not from the rates. */
  private lastExhausted = false;

  constructor(
    private readonly pool: SizablePool,
    private readonly options: PoolSizerOptions,
  ) {
    // The profile's limit, which every slot shares: its window and buckets are the store's for the counts.
    this.arrivals = new FleetArrivals(pool.budgets[0]?.tokenLimit ?? new TokenLimit(LOCAL_WINDOW_MS));
  }

  get max(): number {
    return this.options.max;
  }

  /** What /token says of growth: `ok`, `at max`, or why it stopped. */
  get growth(): string {
    if (this.scope === 'shared') return GROWTH_STOPPED_SHARED;
    if (this.scope === 'revokes') return GROWTH_STOPPED_REVOKES;
    return this.pool.size >= this.options.max ? 'at max' : 'ok';
  }

  /** True while growth may still add a slot (not stopped, not at the cap). */
  get canGrow(): boolean {
    return this.scope !== 'shared' && this.scope !== 'revokes' && this.pool.size < this.options.max;
  }

  /** Issuing a token revokes the older ones: the pool keeps one token, fleet-wide. */
  get revokes(): boolean {
    return this.scope === 'revokes';
  }

  /** The rate limit is not per token (per client, user, organisation or resource): more tokens do not help. */
  get stoppedShared(): boolean {
    return this.scope === 'shared';
  }

  /**
   * Growth stops for good (`revokes`: a new token revoked the older ones; `shared`: a fresh token was
   * refused at once, or a 429's body named a limit over every token (`namedLimit`, its key), so the
   * limit is not per token): said once in the log, the pool goes back to one
   * token here at once, and the store's pool-size record carries the reason so every instance does
   * the same at its next poll.
   */
  stopGrowth(reason: GrowthStop, now: number, namedLimit?: string): void {
    if (this.scope === reason && this.stoppedFleetWide) return;
    const before = this.pool.size;
    this.scope = reason;
    this.stoppedFleetWide = true;
    this.probe = -1;
    this.options.log.warn(
      { from: before, to: 1, ...(namedLimit !== undefined && { limitKey: namedLimit }) },
      reason === 'revokes'
        ? 'token pool falls back to one token and stops growing: a 401 came on a token older than another slot\'s new one, so issuing a token revokes the older ones; requests are replayed on the newest token'
        : namedLimit !== undefined
          ? 'token pool stops growing and goes back to one token: a 429\'s body named the limit that refused it, and that limit counts every token of the client, user or organisation; more tokens would not help'
          : 'token pool stops growing and goes back to one token: a fresh token was refused with 429 at once, so the rate limit is per client, user, organisation or resource, not per token; more tokens would not help',
    );
    this.adopt(1);
    void this.publishStop(reason, now);
  }

  private async publishStop(reason: GrowthStop, now: number): Promise<void> {
    const { store, key } = this.options;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const read = await store.getPoolSize(key);
        if (read?.stopped === STOPPED_CODES[reason] && read.size === 1) return;
        if (await store.setPoolSize(key, read?.epoch ?? 0, 1, now, STOPPED_CODES[reason])) {
          this.record = { size: 1, epoch: (read?.epoch ?? 0) + 1, updatedAt: now, stopped: STOPPED_CODES[reason] };
          return;
        }
      } catch (err) {
        this.warnStore(err);
        return;
      }
    }
  }

  /** A stop another instance recorded in the store. */
  private adoptStop(code: string): void {
    const reason: GrowthStop = code === STOPPED_CODES.revokes ? 'revokes' : 'shared';
    if (this.scope === reason && this.stoppedFleetWide) return;
    this.scope = reason;
    this.stoppedFleetWide = true;
    this.probe = -1;
    this.options.log.warn({ reason }, 'token pool keeps one token: another instance found that ' + (reason === 'revokes' ? 'issuing a token revokes the older ones' : 'the rate limit is not per token'));
    this.adopt(1);
  }

  /** One request received. Synchronous and allocation-free except when it starts a store round trip. */
  hit(now: number): void {
    this.meter.hit(now);
    this.arrivals.add(now);
    if (now >= this.nextCheckAt) this.check(now);
  }

  /**
   * Compares the pool with the demand now; starts a growth or a shrink when one is due. `exhausted`:
   * a request just found every slot out of budget, which proves the demand above the pool whatever
   * the measured rate says (early in a ramp it lags).
   */
  check(now: number, exhausted = false): void {
    this.nextCheckAt = now + CHECK_EVERY_MS;
    if (this.stoppedFleetWide) return;
    const { pool } = this;
    const size = pool.size;
    for (let i = 0; i < size; i++) {
      if (pool.budgets[i]!.refusedFresh) {
        // A fresh token refused at once, the fleet's count confirms it: the limit is not per token.
        this.stopGrowth('shared', now);
        return;
      }
    }
    if (this.probe >= 0) this.judgeProbe(now);
    // Every token out of budget: a step in the load; the last seconds' rate says how big, where the
    // window's would take a window to show it.
    const windowLocal = this.meter.perSecond(now, this.windowMs());
    const local = exhausted ? Math.max(windowLocal, this.meter.perSecond(now, SHORT_RATE_HORIZON_MS)) : windowLocal;
    const rate = this.fleetDemand(now, local);
    const demanded = desiredPoolSize(pool.budgets, size, now, local, rate);
    const bump = exhausted && demanded <= size;
    // Every token out of budget reads the last seconds' rate, which a burst of held requests or a
    // window's edge can inflate: grow by a tenth at a time there (each step one store round trip).
    const desired = bump ? size + 1 : exhausted ? Math.min(demanded, size + Math.max(1, Math.ceil(size / 10))) : demanded;
    if (desired > size && size >= this.options.max) this.noteCap(rate, desired);
    else if (size < this.options.max) this.capLogged = false;
    if (desired > size) {
      this.belowSince = 0;
      // One probe at a time until the scope is known: a shared limit then costs few tokens.
      if (this.busy || (this.scope === 'unknown' && this.probe >= 0)) return;
      const next = nextPoolSize(desired, size, this.options.max, this.scope === 'revokes' ? 'shared' : this.scope);
      if (next > size) {
        this.noteJudgement(rate, local, desired, bump);
        void this.setSize(next, true);
      }
      return;
    }
    if (desired >= size) {
      this.belowSince = 0;
      return;
    }
    if (this.belowSince === 0) this.belowSince = now;
    const quietMs = this.options.quietMs ?? DEFAULT_QUIET_MS;
    const changedAt = this.record?.updatedAt ?? 0;
    if (!this.busy && now - this.belowSince >= quietMs && now - changedAt >= quietMs) {
      this.noteJudgement(rate, local, desired, false);
      void this.setSize(Math.max(1, desired), false);
    }
  }

  /** Said once each time the pool reaches its cap while the demand asks for more. */
  private noteCap(rate: number, desired: number): void {
    if (this.capLogged) return;
    this.capLogged = true;
    this.options.log.warn(
      { size: this.pool.size, max: this.options.max, desired, ratePerSecond: Math.round(rate) },
      'token pool is at its cap (TOKEN_POOL_MAX) and the demand asks for more: requests over the budget follow RATE_LIMIT_POLICY',
    );
  }

  private noteJudgement(rate: number, local: number, desired: number, exhausted: boolean): void {
    this.lastRate = rate;
    this.lastLocal = local;
    this.lastDesired = desired;
    this.lastExhausted = exhausted;
  }

  start(): void {
    this.stopped = false;
    this.schedulePoll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Reads the fleet-wide size and adopts it (also the first thing on start). */
  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.record = await this.options.store.getPoolSize(this.options.key);
      if (this.record?.stopped !== undefined) this.adoptStop(this.record.stopped);
      else if (this.record !== null && !this.stoppedFleetWide) this.adopt(this.record.size);
      this.storeWarned = false;
    } catch (err) {
      this.warnStore(err);
    } finally {
      this.busy = false;
    }
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      void this.poll().finally(() => this.schedulePoll());
    }, this.options.pollMs ?? DEFAULT_POLL_MS);
    this.timer.unref?.();
  }

  /**
   * The whole fleet's demand in requests per second: this instance's arrival rate (`local`: sent or
   * held, which sends alone would understate while requests wait for a growing pool) times how many
   * requests the fleet sends per request this instance sends. Every request is counted on exactly
   * one slot, so the ratio needs no idea of how many instances there are.
   * - Where the store is shared: the fleet's arrivals over the window per arrival here
   *   (./fleet-arrivals.ts), which waiting does not skew as it skews sends.
   *   The tokens' counts (fleetRatio) are not read here: they are sends, known no sooner than the
   *   arrivals of the same batch, and while arrivals are too few to measure by, so are sends.
   * - Without a shared store, the upstream's counters: how much they rose between two answers to this instance's requests,
   *   against how many of its requests lay between them (SlotBudget.riseSinceFirstAnswer). Both
   *   ends are answers and the span is whole windows: on a starved machine an instance that falls
   *   behind sees, second by second, few of its own requests answered while the others' are counted
   *   (ratios of 4 to 9 for two instances were seen), and the start of a window holds the others'
   *   requests sent before its own first.
   * O(slots).
   */
  private fleetDemand(now: number, local: number): number {
    const { budgets, size } = this.pool;
    const arrivalRatio = this.arrivals.ratio(now);
    if (arrivalRatio !== undefined) {
      this.ratio = arrivalRatio;
      return local * this.ratio;
    }
    let counted = 0;
    let own = 0;
    for (let i = 0; i < size; i++) {
      const b = budgets[i]!;
      if (!b.fromUpstream || b.resetAt <= now) continue;
      counted += b.riseSinceFirstAnswer;
      own += b.ownSinceFirstAnswer;
    }
    if (own >= MIN_OWN_FOR_FACTOR) this.ratio = counted > own ? counted / own : 1;
    return local * this.ratio;
  }

  /**
   * The horizon of the arrival rate: the rate limit's window as the slots learnt it (the steady rule
   * sizes for a window's demand, so it reads the last window's arrivals), 2 s until one is known.
   */
  private windowMs(): number {
    const { budgets, size } = this.pool;
    let windowMs = 0;
    for (let i = 0; i < size; i++) if (budgets[i]!.windowMs > windowMs) windowMs = budgets[i]!.windowMs;
    return windowMs > 0 ? Math.min(windowMs, MAX_RATE_HORIZON_MS) : DEFAULT_RATE_HORIZON_MS;
  }

  /**
   * Sets the fleet-wide size to `target` against the epoch read just before. A growth finding the
   * record already at or past `target` (another instance grew first) adopts it; a shrink finding the
   * record changed since it looked gives way. When the store cannot be reached a growth still
   * happens here (the lifecycle serves locally meanwhile); a shrink waits.
   */
  private async setSize(target: number, grow: boolean): Promise<void> {
    this.busy = true;
    const { store, key, clock, log } = this.options;
    try {
      const read = await store.getPoolSize(key);
      this.record = read;
      const current = read?.size ?? this.pool.size;
      if (grow ? current >= target : current !== this.pool.size) {
        this.adopt(current);
        return;
      }
      if (await store.setPoolSize(key, read?.epoch ?? 0, target, clock.now())) {
        this.record = { size: target, epoch: (read?.epoch ?? 0) + 1, updatedAt: clock.now() };
        log.info(
          {
            from: this.pool.size,
            to: target,
            desired: this.lastDesired,
            ratePerSecond: Math.round(this.lastRate),
            localPerSecond: Math.round(this.lastLocal),
            fleetRatio: Math.round(this.ratio * 100) / 100,
            everyTokenOutOfBudget: this.lastExhausted,
            scope: this.scope,
          },
          grow ? 'token pool grows' : 'token pool shrinks after a quiet period',
        );
        this.adopt(target);
      } else {
        this.record = await store.getPoolSize(key);
        if (this.record !== null) this.adopt(this.record.size);
      }
      this.storeWarned = false;
    } catch (err) {
      this.warnStore(err);
      if (grow) this.adopt(target);
    } finally {
      this.busy = false;
    }
  }

  private adopt(size: number): void {
    const clamped = Math.max(1, Math.min(size, this.options.max));
    const before = this.pool.size;
    if (clamped === before) return;
    this.pool.resize(clamped);
    this.belowSince = 0;
    // The newest slot is the probe that tells whether the limit is per token.
    if (clamped > before && this.scope === 'unknown') this.probe = clamped - 1;
    if (this.probe >= clamped) this.probe = -1;
  }

  private judgeProbe(now: number): void {
    const { pool } = this;
    const budget = pool.budgets[this.probe];
    if (budget === undefined) return;
    if (!budget.fromUpstream) {
      // No counters to compare: a fresh token that served requests for a while, hardly a 429 among
      // them, shows the limit is per token. A while: a limit per client lets a fresh token through until the
      // client's budget is spent, a fraction of a second at a load that needs a pool. (One refused at
      // once stops growth through the pool's rateLimited instead.)
      const answers = budget.accepted + budget.refused;
      if (budget.firstSentAt === 0 || now - budget.firstSentAt < PROBE_MS || answers < PROBE_ANSWERS) return;
      const served = budget.refused <= answers / 10 && budget.accepted >= Math.max(PROBE_ACCEPTED, budget.limit / 10);
      // A probe served while the fleet has had no more served than one token's limit proves nothing:
      // a limit over every token (per client) with budget left when the probe began serves it just
      // as well, and once it is spent, requests wait instead of being refused on the probe. Watch on
      // while the probe is never refused; refused before the fleet got past one token's limit, it
      // says nothing.
      const pastOneToken = this.fleetAccepted() > PAST_ONE_TOKEN * budget.tokenLimit.perWindow;
      if (served && !pastOneToken && budget.refused === 0) return;
      this.probe = -1;
      // Mostly served past one token's limit: per token (a few 429s are other instances' overdraw).
      // Otherwise this probe says nothing; the next growth adds one token at a time and probes again
      // (a fresh token refused at once then stops growth).
      if (served && pastOneToken) this.scope = 'per_token';
      return;
    }
    if (budget.firstCount < 0) return;
    const scope = limitLooksShared(pool.budgets, pool.size, this.probe, now);
    if (scope === 'unknown') {
      // The others were too little used to compare with: this probe says nothing; the next one may.
      this.probe = -1;
      return;
    }
    this.probe = -1;
    this.scope = scope;
    if (scope === 'shared') {
      this.options.log.warn(
        { size: pool.size, firstCount: budget.firstCount },
        'token pool stops growing: a new token started with the counts of the others, so the rate limit is per client or user, not per token; more tokens would not help',
      );
    }
  }

  /**
   * Answers the fleet has had that were not 429s (nor 401s), over the slots' current tokens: this
   * instance's own times the fleet's requests per request of its own (its budgets' fleetFactor).
   */
  private fleetAccepted(): number {
    const { budgets, size } = this.pool;
    let accepted = 0;
    for (let i = 0; i < size; i++) accepted += budgets[i]!.accepted * budgets[i]!.fleetFactor;
    return accepted;
  }

  private warnStore(err: unknown): void {
    if (this.storeWarned) return;
    this.storeWarned = true;
    this.options.log.warn({ err: (err as Error)?.message }, 'could not read or set the fleet-wide pool size; sizing locally until the store answers');
  }
}
