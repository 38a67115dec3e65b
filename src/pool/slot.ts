import type { GaugeCell } from '../metrics/tally.js';
import type { Clock } from '../token/clock.js';
import { describeToken, type Token, type TokenMetadata } from '../token/token.js';
import { SlotBudget } from './budget.js';
import { classify429, limitScope, perMinuteOf, type NamedLimit } from './budget-429.js';
import type { TokenLimit } from './token-limit.js';
import type { RefreshAheadCache } from '../lifecycle/cached.js';
import type { Lease, LeaseSlot } from './lease.js';

export type SlotState = 'starting' | 'valid' | 'refreshing' | 'failing';

/** One slot as /token and /readyz show it: never the token itself. */
export interface SlotStatus {
  slot: number;
  state: SlotState;
  token: TokenMetadata | null;
  source: 'store' | 'local' | null;
  lastError: string | null;
  nextRetryAt: string | null;
  /** Requests left in the token's rate budget now, by the fleet's count or the upstream's counters; null when no limit is known. */
  budgetLeft: number | null;
  /** When this instance next fetches or adopts a token for the slot on its own (refresh ahead of expiry, or a retry), ISO 8601; null when nothing is planned. */
  nextRefreshAt: string | null;
}

/** Where a profile's token goes upstream: its INJECT_HEADER (lower-case) and INJECT_PREFIX. */
export interface Injection {
  readonly header: string;
  readonly prefix: string;
}

export const BEARER_AUTHORIZATION: Injection = { header: 'authorization', prefix: 'Bearer ' };

/**
 * Where a token goes on the upstream request: the one place the header and its value are built.
 * Allocates the value string, so it is called once per token, never per request.
 */
export function injectionFor(token: Token, injection: Injection): { header: string; value: string } {
  return { header: injection.header, value: `${injection.prefix}${token.accessToken}` };
}

/**
 * The pool a slot belongs to, for the answers whose meaning depends on the other slots: a 401 (did
 * another slot's newer token revoke this one?), a 429 without budget headers (this token's own
 * budget, a limit that is not per token, or a limit to learn), and a 429 whose body names a limit
 * over every token of the client, user or organisation (more tokens cannot help).
 */
export interface SlotOwner {
  unauthorized(slot: PoolSlot, sent: Token): Promise<Lease>;
  rateLimited(slot: PoolSlot, retryAfterSeconds: number | undefined): boolean;
  limitNotPerToken(key: string): void;
}

/**
 * One pool slot: a refresh-ahead cache, the lease on its current token, and that token's rate
 * budget (./budget.ts). The lease is built once per token (`leaseFor`) and shared by every request
 * while that token lasts; single-threaded, so the last lease and the budget need no guarding. A new
 * token starts a new per-token budget.
 */
export class PoolSlot implements LeaseSlot {
  private lastLease: Lease | undefined;
  /** The current token's rate budget: what the pool's chooser routes by. */
  readonly budget: SlotBudget;
  /** Set by the pool that holds the slot. */
  owner: SlotOwner | undefined;

  constructor(
    readonly profile: string,
    readonly index: number,
    private readonly cache: RefreshAheadCache,
    private readonly clock: Clock,
    /** This slot's token_sidecar_rate_limit_remaining series, read by the gauge at scrape time. */
    private readonly rateLimitRemaining: GaugeCell,
    private readonly injection: Injection = BEARER_AUTHORIZATION,
    /** The profile's per-token limit (shared by its slots), or RATE_LIMIT_PER_TOKEN for a budget of its own. */
    limit?: TokenLimit | number,
    /**
     * Whose budget the slot's requests count against. `token` (client credentials): each token has
     * its own, so a new token starts a new one. `user` (a user token, refresh_token grant): Genesys
     * counts per user and client (`org.app.user.rate.per.minute`, docs/genesys.md §5), so a refreshed
     * token of the same user carries on the user's count, its fleet counter and a 429's wait.
     */
    private readonly budgetOf: 'token' | 'user' = 'token',
  ) {
    this.budget = new SlotBudget(limit);
  }

  /** The hot path: a lease on the valid token, or undefined. Synchronous, no I/O. */
  lease(): Lease | undefined {
    const token = this.cache.current();
    return token === undefined ? undefined : this.leaseFor(token);
  }

  /** A lease, waiting for a token if none is held. Rejects with SidecarError(tokenUnavailable). */
  async leaseWaiting(): Promise<Lease> {
    return this.leaseFor(await this.cache.token({ after: 0 }));
  }

  onUnauthorized(sent: Token): Promise<Lease> {
    return this.owner !== undefined ? this.owner.unauthorized(this, sent) : this.refreshAfter401(sent);
  }

  /** Guarantee 4 for this slot alone: `sent` invalidated if still current, one refresh fleet-wide, a lease on the newer token. */
  refreshAfter401(sent: Token): Promise<Lease> {
    return this.cache.onUnauthorized(sent).then((token) => this.leaseFor(token));
  }

  /** The token held now, valid or not (undefined before the first). */
  get heldToken(): Token | undefined {
    return this.cache.state.held ?? undefined;
  }

  noteAnswer(statusCode: number): void {
    const budget = this.budget;
    budget.answered++;
    if (statusCode === 429) budget.refused++;
    else if (statusCode !== 401) budget.accepted++;
  }

  rateLimited(allowed: number, count: number, retryAfterSeconds: number | undefined, named?: NamedLimit): boolean {
    if (named !== undefined) {
      const decided = this.rateLimitedBy(named, retryAfterSeconds);
      if (decided !== undefined) return decided;
    }
    const now = this.clock.now();
    if (this.budget.fromUpstream || !Number.isNaN(allowed)) {
      // The upstream's counters say whose budget it was.
      if (classify429(allowed, count, this.budget, now) !== 'token_budget') return false;
      this.markExhausted(retryAfterSeconds);
      return true;
    }
    if (this.owner !== undefined) return this.owner.rateLimited(this, retryAfterSeconds);
    this.markExhausted(retryAfterSeconds);
    return true;
  }

  /**
   * A 429 whose body names its limit (budget-429.ts limitScope): the name says whose budget it was.
   * - per token: the token's own budget; the limit's value per minute, when given, becomes the
   *   profile's limit unless a stronger source set it (TokenLimit `429-body`); the slot is spent.
   *   With no limit known even so (no value, nothing else), undefined: the unnamed path decides,
   *   which learns a limit from the count;
   * - per client, user or organisation: more tokens cannot help; the pool stops growing; false;
   * - anything else (a resource's own limit): false, the 429 reaches the client and nothing changes.
   */
  private rateLimitedBy(named: NamedLimit, retryAfterSeconds: number | undefined): boolean | undefined {
    const scope = limitScope(named.key);
    if (scope === 'shared') this.owner?.limitNotPerToken(named.key);
    if (scope !== 'token') return false;
    const limit = this.budget.tokenLimit;
    const perMinute = perMinuteOf(named);
    if (perMinute !== undefined) limit.setIfStronger(perMinute, '429-body', `named in a 429's body: ${named.key} = ${perMinute}`);
    if (!limit.known && !this.budget.fromUpstream) return undefined;
    this.markExhausted(retryAfterSeconds);
    return true;
  }

  observeRateLimit(allowed: number, count: number, resetSeconds: number | undefined, ticket?: number): void {
    const now = this.clock.now();
    if (resetSeconds !== undefined) this.budget.observe(allowed, count, resetSeconds, now, ticket);
    this.rateLimitRemaining.value = Math.max(0, allowed - count);
  }

  noteSent(): number {
    const now = this.clock.now();
    const ticket = this.budget.noteSent(now);
    // Counted locally (RATE_LIMIT_PER_TOKEN, no upstream counters): the gauge shows the local budget.
    if (!this.budget.fromUpstream && this.budget.limit > 0 && (ticket & 15) === 0) this.rateLimitRemaining.value = this.budget.remaining(now);
    return ticket;
  }

  markExhausted(retryAfterSeconds: number | undefined): void {
    this.budget.markExhausted(this.clock.now(), retryAfterSeconds);
    this.rateLimitRemaining.value = 0;
  }

  /** Budget left now (what /token shows per slot): null when no limit is known. */
  budgetLeft(): number | null {
    const left = this.budget.remaining(this.clock.now());
    return left === Number.POSITIVE_INFINITY ? null : Math.floor(left);
  }

  /** True while the slot holds a token that may be sent. */
  get valid(): boolean {
    return this.cache.current() !== undefined;
  }

  start(): void {
    this.cache.start();
  }

  stop(): void {
    this.cache.stop();
  }

  forceRefresh(): Promise<Token> {
    return this.cache.forceRefresh();
  }

  status(): SlotStatus {
    const now = this.clock.now();
    const { held, refreshing, lastError, nextRetryAt, nextRefreshAt } = this.cache.state;
    const state: SlotState = refreshing ? 'refreshing' : this.valid ? 'valid' : lastError ? 'failing' : 'starting';
    return {
      slot: this.index,
      state,
      token: held ? describeToken(held, now) : null,
      source: held ? (held.local ? 'local' : 'store') : null,
      lastError,
      nextRetryAt: nextRetryAt > now ? new Date(nextRetryAt).toISOString() : null,
      budgetLeft: this.budgetLeft(),
      nextRefreshAt: nextRefreshAt === undefined ? null : new Date(nextRefreshAt).toISOString(),
    };
  }

  private leaseFor(token: Token): Lease {
    if (this.lastLease?.token !== token) {
      // A user's budget starts once, at its first token, as generation 0 for every token after it:
      // the fleet's counter of the slot (named by slot and generation, fleet-counts.ts) is the user's.
      if (this.budgetOf === 'token') this.budget.resetForNewToken(token.generation);
      else if (this.lastLease === undefined) this.budget.resetForNewToken(0);
      this.lastLease = { token, ...injectionFor(token, this.injection), slot: this };
    }
    return this.lastLease;
  }
}
