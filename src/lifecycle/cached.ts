import { SidecarError } from '../errors.js';
import type { Clock } from '../token/clock.js';
import type { SharedTokenEvent, SharedTokenSource, TokenRequest, TokenSource } from '../token/source.js';
import { isFresh, refreshDueAt, safetyMarginOf, type Token } from '../token/token.js';
import { RetryBackoff } from './backoff.js';
import type { CacheReport } from './cache-report.js';
import { RefreshTimer } from './refresh-timer.js';

export interface CacheDeps {
  /** What is logged and counted, under this lifecycle's profile and slot. */
  readonly report: CacheReport;
  readonly clock: Clock;
  /** Fraction of a token's lifetime after which it is refreshed in the background (REFRESH_AT). */
  readonly refreshAt: number;
  readonly random?: () => number;
}

/** Backoff between failed refreshes while no valid token is held. */
const RETRY = { baseMs: 1_000, maxMs: 60_000 };

/**
 * The refresh-ahead cache (golang/oauth2's ReuseTokenSource, plus refreshing ahead): holds one
 * token of a shared source and hands it out until its safety margin before expiry.
 *
 * Concurrency rules:
 * - `current()` is the request path: synchronous, no I/O, no allocation.
 * - At most one call to the wrapped source is in flight (`inflight`, single flight): every caller
 *   in this process shares it; across processes the coordinated source makes it one per store.
 * - The held token only ever moves to a newer generation (or from a `local` token to a stored one),
 *   and never back to a generation known to be rejected.
 * - A refresh starts in the background at REFRESH_AT of the lifetime plus jitter (RefreshTimer), so
 *   a request never waits while a valid token exists; it waits only when none is held.
 * - After a failed refresh, retries follow RetryBackoff (Retry-After honoured); in between, callers
 *   without a valid token get a 503 SidecarError at once instead of each calling the source.
 * - Tokens published elsewhere are adopted; one invalidated elsewhere is dropped and refreshed.
 */
export class RefreshAheadCache implements TokenSource {
  private held: Token | undefined;
  private inflight: Promise<Token> | undefined;
  /** Highest generation known to be rejected: never adopted again, refreshes must beat it. */
  private rejected = 0;
  private readonly backoff: RetryBackoff;
  private readonly timer: RefreshTimer;
  private unwatch: (() => void) | undefined;
  /** Starts not yet matched by a stop (see start). */
  private users = 0;

  constructor(
    private readonly source: SharedTokenSource,
    private readonly deps: CacheDeps,
  ) {
    this.backoff = new RetryBackoff({ ...RETRY, random: deps.random });
    this.timer = new RefreshTimer(deps.clock, () => this.refresh(this.held ? 'ahead_of_expiry' : 'retry').catch(() => {}));
  }

  /** A token that may be sent now, or undefined. The hot path. */
  current(): Token | undefined {
    const token = this.held;
    return token !== undefined && isFresh(token, this.deps.clock.now()) ? token : undefined;
  }

  /** The token held, fresh or not (for status), and the retry state. */
  get state(): { held: Token | undefined; refreshing: boolean; lastError: string | null; nextRetryAt: number; nextRefreshAt: number | undefined } {
    return { held: this.held, refreshing: this.inflight !== undefined, lastError: this.backoff.lastError, nextRetryAt: this.backoff.nextRetryAt, nextRefreshAt: this.timer.dueAt };
  }

  /**
   * Adopts the shared source's publications, then fetches the first token in the background. One
   * cache may serve several pool slots (a group profile's slot and its member's own, compose.ts):
   * starts and stops are counted: the first start starts it, and a stop stops it unless another
   * start is still unmatched.
   */
  start(): void {
    if (this.users++ > 0) return;
    this.unwatch = this.source.watch((event) => this.onShared(event));
    this.refresh('initial').catch(() => {});
  }

  stop(): void {
    if (this.users > 1) {
      this.users--;
      return;
    }
    this.users = 0;
    this.timer.stop();
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** A fresh token newer than `after`, waiting for a refresh if none is held. Rejects with SidecarError(tokenUnavailable). */
  token({ after }: TokenRequest, reason = 'no_valid_token'): Promise<Token> {
    const token = this.current();
    if (token && token.generation > after) return Promise.resolve(token);
    return this.refreshOrFail(reason);
  }

  /**
   * The upstream answered 401 to `sent`. Withdraws it fleet-wide only if it is still the current
   * one (compare-and-set) and resolves with a newer token: one refresh fleet-wide.
   */
  async onUnauthorized(sent: Token): Promise<Token> {
    const held = this.held;
    if (held && held.generation > sent.generation && !held.local && isFresh(held, this.deps.clock.now())) return held;
    this.rejected = Math.max(this.rejected, sent.local ? 0 : sent.generation);
    if (held === sent) {
      this.held = undefined;
      this.deps.report.invalidated('upstream_401', sent.generation);
      await this.source.invalidate(sent);
    }
    return this.token({ after: 0 }, 'upstream_401');
  }

  /** Admin: a newer token, fleet-wide. The held one keeps serving until then: it was not rejected. */
  forceRefresh(): Promise<Token> {
    this.deps.report.invalidated('manual', this.held?.generation ?? null);
    this.backoff.lift();
    return this.refresh('manual');
  }

  private async refreshOrFail(reason: string): Promise<Token> {
    if (this.held && !this.inflight && this.current() === undefined) {
      this.deps.report.invalidated('expired', this.held.generation);
      reason = 'expired';
    }
    const now = this.deps.clock.now();
    if (!this.inflight && this.backoff.isWaiting(now)) throw this.unavailable(this.backoff.nextRetryAt - now);
    try {
      return await this.refresh(reason);
    } catch {
      throw this.unavailable(Math.max(1000, this.backoff.nextRetryAt - this.deps.clock.now()));
    }
  }

  /** Single flight: every caller in this process shares one call to the source. */
  private refresh(reason: string): Promise<Token> {
    if (this.inflight) return this.inflight;
    const { clock, report } = this.deps;
    const held = this.held;
    // A local token (fetched while the store was down) is replaced by anything from the store.
    const after = Math.max(held && !held.local ? held.generation : 0, this.rejected);
    const started = clock.now();
    report.refreshStarted(reason, after);
    // While the held token stays fresh the source may wait out a store failover rather than fetch alone.
    const heldFreshUntil = held && !held.local && isFresh(held, started) ? held.expiresAt - safetyMarginOf(held) : undefined;
    const attempt = this.source.token({ after, ...(heldFreshUntil !== undefined && { heldFreshUntil }) }).then(
      (token) => {
        this.backoff.succeeded();
        this.install(token);
        report.refreshSucceeded(reason, token, clock.now() - started);
        return this.held ?? token;
      },
      (err: unknown) => {
        const delay = this.backoff.failed(err, clock.now());
        report.refreshFailed({ reason, after, failures: this.backoff.failureCount, retryInMs: Math.round(delay), durationMs: clock.now() - started, error: this.backoff.lastError });
        this.timer.schedule(delay);
        throw err;
      },
    );
    this.inflight = attempt.finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Holds `token` if it is newer than the held one, and plans its background refresh. */
  private install(token: Token): boolean {
    const held = this.held;
    if (held && !held.local && token.generation <= held.generation) return false;
    if (!token.local && token.generation <= this.rejected) return false;
    if (!isFresh(token, this.deps.clock.now())) return false;
    this.held = token;
    this.deps.report.holding(token);
    this.timer.schedule(refreshDueAt(token, this.deps.refreshAt, (this.deps.random ?? Math.random)()) - this.deps.clock.now());
    return true;
  }

  private onShared(event: SharedTokenEvent): void {
    if (event.type === 'stored') {
      if (this.install(event.token)) this.deps.report.adopted(event.token);
    } else if (this.held && this.held.generation === event.generation && !this.held.local) {
      this.rejected = Math.max(this.rejected, event.generation);
      // Another instance saw this token rejected: stop sending it, and fetch (coordinated) unless a
      // newer one arrives first.
      this.deps.report.invalidatedElsewhere(event.generation);
      this.held = undefined;
      this.refresh('invalidated_elsewhere').catch(() => {});
    }
  }

  private unavailable(retryAfterMs: number): SidecarError {
    return new SidecarError('tokenUnavailable', `no valid token for profile "${this.deps.report.profile}"`, {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      cause: this.backoff.lastError ?? 'token refresh in progress',
    });
  }
}
