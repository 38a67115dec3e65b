import type { GaugeCell } from '../metrics/tally.js';
import type { Clock } from '../token/clock.js';
import { describeToken, type Token, type TokenMetadata } from '../token/token.js';
import { SlotBudget } from './budget.js';
import { classify429 } from './budget-429.js';
import type { RefreshAheadCache } from './cached.js';
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
 * One pool slot: a refresh-ahead cache, the lease on its current token, and that token's rate
 * budget (./budget.ts). The lease is built once per token (`leaseFor`) and shared by every request
 * while that token lasts; single-threaded, so the last lease and the budget need no guarding. A new
 * token starts a new per-token budget.
 */
export class PoolSlot implements LeaseSlot {
  private lastLease: Lease | undefined;
  /** The current token's rate budget: what the pool's chooser routes by. */
  readonly budget: SlotBudget;

  constructor(
    readonly profile: string,
    readonly index: number,
    private readonly cache: RefreshAheadCache,
    private readonly clock: Clock,
    /** This slot's token_sidecar_rate_limit_remaining series, read by the gauge at scrape time. */
    private readonly rateLimitRemaining: GaugeCell,
    private readonly injection: Injection = BEARER_AUTHORIZATION,
    /** RATE_LIMIT_PER_TOKEN: the budget counted locally while the upstream sends no counters. */
    localLimitPerMinute?: number,
  ) {
    this.budget = new SlotBudget(localLimitPerMinute);
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
    return this.cache.onUnauthorized(sent).then((token) => this.leaseFor(token));
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
    if (!this.budget.fromUpstream && this.budget.limit > 0) this.rateLimitRemaining.value = this.budget.remaining(now);
    return ticket;
  }

  markExhausted(retryAfterSeconds: number | undefined): void {
    this.budget.markExhausted(this.clock.now(), retryAfterSeconds);
    this.rateLimitRemaining.value = 0;
  }

  isOwnBudget429(allowed: number, count: number): boolean {
    return classify429(allowed, count, undefined, this.budget, this.clock.now()) === 'token_budget';
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
      nextRefreshAt: nextRefreshAt === undefined ? null : new Date(nextRefreshAt).toISOString(),
    };
  }

  private leaseFor(token: Token): Lease {
    if (this.lastLease?.token !== token) {
      if (this.lastLease !== undefined) this.budget.resetForNewToken();
      this.lastLease = { token, ...injectionFor(token, this.injection), slot: this };
    }
    return this.lastLease;
  }
}
