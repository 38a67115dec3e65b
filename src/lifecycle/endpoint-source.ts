import type { Logger } from 'pino';
import type { ProfileConfig } from '../config/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TokenStore } from '../store/store.js';
import { sleep, type Clock } from '../token/clock.js';
import { requestToken, TokenEndpointError, type GrantRequest } from '../token/endpoint.js';
import type { TokenRequest, TokenSource } from '../token/source.js';
import type { Token } from '../token/token.js';
import { backoffDelay } from './backoff.js';

export interface EndpointSourceDeps {
  readonly profile: ProfileConfig;
  /** Where the rotating refresh token of this lifecycle is kept (refresh_token grant). */
  readonly store: TokenStore;
  readonly key: string;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly instanceId: string;
  /** Whole budget for one call including retries; kept below the refresh lock's TTL. */
  readonly budgetMs: number;
  /** The retries' jitter, in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

/** Retries within one call: exponential backoff with jitter from 200 ms up to 5 s. */
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 5_000;

/**
 * The bottom of the lifecycle: every call is a new token from the token endpoint, stamped with
 * generation `after + 1` (the coordinated source reserves that number in the store first). The
 * grant, retries and metrics, nothing else: no caching, no single flight (concurrent calls make
 * concurrent requests; the wrappers above make sure there are none).
 *
 * Retries retryable failures (5xx, 429, network, timeout) with exponential backoff and jitter,
 * honouring Retry-After, until `budgetMs` is spent. Each failure is logged with the endpoint's OAuth
 * error fields (never a secret) and counted.
 *
 * For the refresh_token grant the current refresh token is read from the store and the rotated one
 * written back before the access token is returned: the old one is spent from that moment on. With
 * `local` (store unreachable) the last refresh token this process saw is used and kept in memory.
 */
/** The least budget worth a retry (or a quarter of the whole budget, when that is smaller). */
const MIN_ATTEMPT_MS = 250;

export class EndpointTokenSource implements TokenSource {
  private lastKnownRefreshToken: string | undefined;
  /** The seed as last read: OAUTH_REFRESH_TOKEN_FILE may be replaced while running (a new login). */
  private seed: string | undefined;

  constructor(private readonly deps: EndpointSourceDeps) {
    this.seed = deps.profile.refreshToken;
    this.lastKnownRefreshToken = this.seed;
  }

  async token({ after, local = false }: TokenRequest): Promise<Token> {
    const { profile, clock, metrics, log } = this.deps;
    const deadline = clock.now() + this.deps.budgetMs;
    // A retry that could only time out says less than the failure before it: one whose share of the
    // budget was eaten by a late timer (a starved event loop) is not made.
    const minAttemptMs = Math.min(MIN_ATTEMPT_MS, this.deps.budgetMs / 4);
    let lastFailure: TokenEndpointError | undefined;
    for (let attempt = 1; ; attempt++) {
      const started = clock.now();
      if (lastFailure && deadline - started < minAttemptMs) throw lastFailure;
      try {
        const grant = await this.grantRequest(local);
        const response = await requestToken(profile, grant, Math.max(1, deadline - started));
        metrics.tokenRequests.inc({ profile: profile.name, result: 'success' });
        metrics.tokenRequestDuration.observe({ profile: profile.name }, (clock.now() - started) / 1000);
        if (response.refreshToken) await this.keepRefreshToken(response.refreshToken, after + 1, local);
        return {
          accessToken: response.accessToken,
          // Measured from when we asked, so the expiry we keep is never later than the real one.
          issuedAt: started,
          expiresAt: started + response.expiresInMs,
          generation: after + 1,
          fetchedBy: this.deps.instanceId,
          ...(local ? { local: true } : {}),
          ...(response.lifetimeAssumed ? { lifetimeAssumed: true } : {}),
        };
      } catch (err) {
        const failure = err instanceof TokenEndpointError ? err : new TokenEndpointError('network', (err as Error).message);
        metrics.tokenRequests.inc({ profile: profile.name, result: failure.kind });
        metrics.tokenRequestDuration.observe({ profile: profile.name }, (clock.now() - started) / 1000);
        const delay = backoffDelay(attempt, { baseMs: RETRY_BASE_MS, maxMs: RETRY_MAX_MS, retryAfterMs: failure.retryAfterMs, random: this.deps.random });
        const giveUp = !failure.retryable || clock.now() + delay >= deadline;
        log.warn(
          { profile: profile.name, attempt, status: failure.status, kind: failure.kind, oauthError: failure.oauthError, oauthDescription: failure.oauthDescription, correlationId: failure.correlationId, retryInMs: giveUp ? undefined : Math.round(delay) },
          `token request failed: ${failure.message}`,
        );
        if (giveUp) throw failure;
        lastFailure = failure;
        await sleep(clock, delay);
      }
    }
  }

  private async grantRequest(local: boolean): Promise<GrantRequest> {
    if (this.deps.profile.grant === 'client_credentials') return { grant: 'client_credentials' };
    const seed = this.deps.profile.refreshToken;
    if (seed !== this.seed) {
      // A new seed file was put in place (a new login): its chain replaces whatever was kept.
      this.seed = seed;
      this.lastKnownRefreshToken = seed;
      return seed ? { grant: 'refresh_token', refreshToken: seed } : this.grantRequest(local);
    }
    const stored = local ? null : await this.deps.store.getRefreshToken(this.deps.key);
    const refreshToken = stored ?? this.lastKnownRefreshToken;
    if (!refreshToken) {
      throw new TokenEndpointError('rejected', 'no refresh token: set OAUTH_REFRESH_TOKEN (or _FILE) for the refresh_token grant');
    }
    return { grant: 'refresh_token', refreshToken };
  }

  private async keepRefreshToken(refreshToken: string, generation: number, local: boolean): Promise<void> {
    this.lastKnownRefreshToken = refreshToken;
    if (!local) await this.deps.store.putRefreshToken(this.deps.key, refreshToken, generation).catch(() => false);
  }
}
