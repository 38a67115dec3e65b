import type { Logger } from 'pino';
import { SidecarError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { GaugeCell } from '../metrics/tally.js';
import type { StoreEvent, TokenStore } from '../store/store.js';
import type { Clock, TimerHandle } from '../token/clock.js';
import { TokenEndpointError } from '../token/endpoint.js';
import { describeToken, isFresh, refreshDueAt, type Token, type TokenMetadata } from '../token/token.js';
import { backoffDelay } from './backoff.js';
import type { CoordinatedRefresher } from './coordinated.js';
import type { Lease, LeaseSlot } from './lease.js';

export interface SlotDeps {
  readonly profile: string;
  readonly slot: number;
  readonly key: string;
  readonly store: TokenStore;
  readonly refresher: CoordinatedRefresher;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly refreshAt: number;
  readonly random?: () => number;
}

export type SlotState = 'starting' | 'valid' | 'refreshing' | 'failing';

export interface SlotStatus {
  slot: number;
  state: SlotState;
  token: TokenMetadata | null;
  source: 'store' | 'local' | null;
  lastError: string | null;
  nextRetryAt: string | null;
}

/** Backoff between failed refresh attempts while no valid token is held. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/**
 * One token lifecycle (one profile, one pool slot) inside this instance.
 *
 * Concurrency rules:
 * - The request path calls `current()` only: synchronous, no I/O, no allocation in steady state.
 * - At most one refresh runs per slot in this process (`inflight` single-flight); across processes
 *   the CoordinatedRefresher makes it one per store.
 * - The held token only ever moves to a newer generation (or from a `local` token to a stored one).
 * - A refresh starts in the background at REFRESH_AT of the lifetime (plus jitter), so a request
 *   never waits while a valid token exists; it waits only when none is held.
 * - After a failed refresh, retries follow exponential backoff (Retry-After honoured); in between,
 *   requests without a valid token are answered 503 at once instead of each calling the endpoint.
 */
export class TokenSlot implements LeaseSlot {
  readonly profile: string;
  readonly index: number;
  private token: Token | undefined;
  private lastLease: Lease | undefined;
  /** This slot's token_sidecar_rate_limit_remaining series, read by the gauge at scrape time. */
  private readonly rateLimitRemaining: GaugeCell;
  private inflight: Promise<Token> | undefined;
  private timer: TimerHandle | undefined;
  private failures = 0;
  private lastError: string | null = null;
  private nextRetryAt = 0;
  private stopped = false;
  /** Highest generation known to be rejected: never adopted again, refreshes must beat it. */
  private rejected = 0;
  private waiters = new Set<{ after: number; resolve: (token: Token | null) => void }>();

  constructor(private readonly deps: SlotDeps) {
    this.profile = deps.profile;
    this.index = deps.slot;
    this.rateLimitRemaining = deps.metrics.rateLimitCells.cell(deps.profile, deps.slot);
  }

  get identity(): { profile: string; slot: number } {
    return { profile: this.deps.profile, slot: this.deps.slot };
  }

  /** A token that may be sent now, or undefined. The hot path. */
  current(): Token | undefined {
    const token = this.token;
    return token !== undefined && isFresh(token, this.deps.clock.now()) ? token : undefined;
  }

  /** The hot path's lease of the valid token: the same object for every request while it lasts. */
  currentLease(): Lease | undefined {
    const token = this.current();
    return token === undefined ? undefined : this.leaseFor(token);
  }

  leaseFor(token: Token): Lease {
    if (this.lastLease?.token !== token) this.lastLease = { token, header: 'authorization', value: `Bearer ${token.accessToken}`, slot: this };
    return this.lastLease;
  }

  /** Today only the metric: requests left in the token's window (never below 0). */
  observeRateLimit(allowed: number, count: number, _resetSeconds: number | undefined): void {
    this.rateLimitRemaining.value = Math.max(0, allowed - count);
  }

  /** Starts fetching the first token in the background. */
  start(): void {
    this.refresh('initial').catch(() => {});
  }

  /** A fresh token, waiting for a refresh if none is held. Rejects with SidecarError(tokenUnavailable). */
  async get(reason = 'no_valid_token'): Promise<Token> {
    const token = this.current();
    if (token) return token;
    if (this.token && !this.inflight) {
      this.deps.metrics.invalidations.inc({ profile: this.deps.profile, reason: 'expired' });
      this.deps.log.info({ ...this.identity, generation: this.token.generation, reason: 'expired' }, 'token invalidated: past its safety margin with no successor');
      reason = 'expired';
    }
    const now = this.deps.clock.now();
    if (!this.inflight && now < this.nextRetryAt) throw this.unavailable(this.nextRetryAt - now);
    try {
      return await this.refresh(reason);
    } catch {
      throw this.unavailable(Math.max(1000, this.nextRetryAt - this.deps.clock.now()));
    }
  }

  /**
   * The upstream answered 401 to a request sent with `sent`. Invalidates it fleet-wide only if it
   * is still the current one (compare-and-set), and returns a lease on a newer token (one refresh
   * fleet-wide).
   */
  async onUnauthorized(sent: Token): Promise<Lease> {
    const held = this.token;
    if (held && held.generation > sent.generation && !held.local && isFresh(held, this.deps.clock.now())) return this.leaseFor(held);
    this.rejected = Math.max(this.rejected, sent.local ? 0 : sent.generation);
    if (held === sent) {
      this.token = undefined;
      this.deps.metrics.invalidations.inc({ profile: this.deps.profile, reason: 'upstream_401' });
      this.deps.log.info({ ...this.identity, generation: sent.generation, reason: 'upstream_401' }, 'token invalidated: rejected by the upstream');
      if (!sent.local) await this.deps.store.invalidate(this.deps.key, sent.generation).catch(() => false);
    }
    return this.leaseFor(await this.get('upstream_401'));
  }

  /**
   * Admin: replace the held token by a newer one, fleet-wide (one coordinated refresh; the others
   * adopt it by publication). The held token keeps serving until then: it was not rejected.
   */
  async forceRefresh(): Promise<Token> {
    const held = this.token;
    this.deps.metrics.invalidations.inc({ profile: this.deps.profile, reason: 'manual' });
    this.deps.log.info({ ...this.identity, generation: held?.generation ?? null, reason: 'manual' }, 'token invalidated: forced refresh');
    this.nextRetryAt = 0;
    return this.refresh('manual');
  }

  /** A token stored or invalidated by any instance sharing the store. */
  onStoreEvent(event: StoreEvent): void {
    if (event.type === 'stored') this.install(event.token, 'published');
    else if (this.token && this.token.generation === event.generation && !this.token.local) {
      this.rejected = Math.max(this.rejected, event.generation);
      // Another instance saw this token rejected: stop sending it, and fetch (coordinated) unless a
      // newer one arrives first.
      this.deps.log.info({ ...this.identity, generation: event.generation, reason: 'invalidated_elsewhere' }, 'token invalidated: rejected at another instance');
      this.token = undefined;
      this.refresh('invalidated_elsewhere').catch(() => {});
    }
  }

  status(): SlotStatus {
    const now = this.deps.clock.now();
    const fresh = this.current();
    const state: SlotState = this.inflight ? 'refreshing' : fresh ? 'valid' : this.lastError ? 'failing' : 'starting';
    return {
      slot: this.deps.slot,
      state,
      token: this.token ? describeToken(this.token, now) : null,
      source: this.token ? (this.token.local ? 'local' : 'store') : null,
      lastError: this.lastError,
      nextRetryAt: this.nextRetryAt > now ? new Date(this.nextRetryAt).toISOString() : null,
    };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    for (const waiter of this.waiters) waiter.resolve(null);
    this.waiters.clear();
  }

  /** Resolves with the first installed token newer than `after`, or null after `timeoutMs`. */
  waitForNewer(after: number, timeoutMs: number): Promise<Token | null> {
    const held = this.token;
    if (held && held.generation > after && !held.local) return Promise.resolve(held);
    return new Promise((resolve) => {
      const waiter = {
        after,
        resolve: (token: Token | null) => {
          this.deps.clock.clearTimeout(handle);
          this.waiters.delete(waiter);
          resolve(token);
        },
      };
      const handle = this.deps.clock.setTimeout(() => waiter.resolve(null), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Single-flight: every caller in this process shares one refresh. */
  private refresh(reason: string): Promise<Token> {
    if (this.inflight) return this.inflight;
    const held = this.token;
    // A local token (fetched while the store was down) is replaced by anything from the store.
    const after = Math.max(held && !held.local ? held.generation : 0, this.rejected);
    const started = this.deps.clock.now();
    this.deps.log.info({ ...this.identity, reason, after }, 'token refresh started');
    const attempt = this.deps.refresher.obtain(after).then(
      (token) => {
        this.failures = 0;
        this.lastError = null;
        this.nextRetryAt = 0;
        this.install(token, reason);
        this.deps.log.info(
          { ...this.identity, reason, generation: token.generation, fetchedBy: token.fetchedBy, local: token.local === true, durationMs: this.deps.clock.now() - started },
          'token refresh succeeded',
        );
        return this.token ?? token;
      },
      (err: unknown) => {
        this.failures++;
        const retryAfterMs = err instanceof TokenEndpointError ? err.retryAfterMs : undefined;
        const delay = backoffDelay(this.failures, { baseMs: RETRY_BASE_MS, maxMs: RETRY_MAX_MS, retryAfterMs, random: this.deps.random });
        this.lastError = err instanceof TokenEndpointError ? err.summary : String((err as Error)?.message ?? err);
        this.nextRetryAt = this.deps.clock.now() + delay;
        this.deps.log.error(
          { ...this.identity, reason, after, failures: this.failures, retryInMs: Math.round(delay), durationMs: this.deps.clock.now() - started, error: this.lastError },
          'token refresh failed',
        );
        this.schedule(delay);
        throw err;
      },
    );
    this.inflight = attempt.finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Holds `token` if it is newer than the held one, and plans its background refresh. */
  private install(token: Token, why: string): void {
    const held = this.token;
    if (held && !held.local && token.generation <= held.generation) return;
    if (!token.local && token.generation <= this.rejected) return;
    if (!isFresh(token, this.deps.clock.now())) return;
    this.token = token;
    this.deps.metrics.tokenExpiry.set({ profile: this.deps.profile, slot: String(this.deps.slot) }, token.expiresAt / 1000);
    if (why === 'published') {
      this.deps.log.debug({ ...this.identity, generation: token.generation }, 'adopted token published by the store');
    }
    for (const waiter of this.waiters) if (token.generation > waiter.after) waiter.resolve(token);
    const random = this.deps.random ?? Math.random;
    this.schedule(refreshDueAt(token, this.deps.refreshAt, random()) - this.deps.clock.now());
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.refresh(this.token ? 'ahead_of_expiry' : 'retry').catch(() => {});
    }, Math.max(0, delayMs));
    this.timer.unref?.();
  }

  private unavailable(retryAfterMs: number): SidecarError {
    return new SidecarError('tokenUnavailable', `no valid token for profile "${this.deps.profile}"`, {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      cause: this.lastError ?? 'token refresh in progress',
    });
  }
}
