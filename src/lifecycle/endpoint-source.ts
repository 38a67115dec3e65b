import type { Logger } from 'pino';
import type { ProfileConfig } from '../config/types.js';
import type { Metrics } from '../metrics/metrics.js';
import { sleep, type Clock } from '../token/clock.js';
import { requestToken, TokenEndpointError } from '../token/endpoint.js';
import type { Grant } from '../token/grants/index.js';
import type { TokenRequest, TokenSource } from '../token/source.js';
import type { Token } from '../token/token.js';
import { backoffDelay } from './backoff.js';

export interface EndpointSourceDeps {
  readonly profile: ProfileConfig;
  /** What each request asks for, and what keeps the grant's state (token/grants/index.ts createGrant). */
  readonly grant: Grant;
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
/** The least budget worth a retry (or a quarter of the whole budget, when that is smaller). */
const MIN_ATTEMPT_MS = 250;

/**
 * The bottom of the lifecycle: every call is a new token from the token endpoint, stamped with
 * generation `after + 1` (the coordinated source reserves that number in the store first). Retries,
 * backoff and metrics, nothing else: what is asked for, and any state the answers leave (a rotated
 * refresh token), is the grant's (token/grants/); no caching, no single flight (concurrent calls make
 * concurrent requests; the wrappers above make sure there are none).
 *
 * Retries retryable failures (5xx, 429, network, timeout) with exponential backoff and jitter,
 * honouring Retry-After, until `budgetMs` is spent. Each attempt asks the grant for fresh fields
 * (a new assertion, the refresh token the store holds now). Each failure is logged with the
 * endpoint's OAuth error fields (never a secret) and counted. The grant hears of a success before
 * the token is returned.
 */
export class EndpointTokenSource implements TokenSource {
  constructor(private readonly deps: EndpointSourceDeps) {}

  async token({ after, local = false }: TokenRequest): Promise<Token> {
    const { profile, grant, clock, metrics, log } = this.deps;
    const deadline = clock.now() + this.deps.budgetMs;
    // A retry that could only time out says less than the failure before it: one whose share of the
    // budget was eaten by a late timer (a starved event loop) is not made.
    const minAttemptMs = Math.min(MIN_ATTEMPT_MS, this.deps.budgetMs / 4);
    let lastFailure: TokenEndpointError | undefined;
    for (let attempt = 1; ; attempt++) {
      const started = clock.now();
      if (lastFailure && deadline - started < minAttemptMs) throw lastFailure;
      try {
        const request = await grant.request({ local });
        const response = await requestToken(profile, request, Math.max(1, deadline - started));
        metrics.tokenRequests.inc({ profile: profile.name, result: 'success' });
        metrics.tokenRequestDuration.observe({ profile: profile.name }, (clock.now() - started) / 1000);
        await grant.answered(response, { generation: after + 1, local });
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
}
