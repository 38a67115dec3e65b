import type { Logger } from 'pino';
import type { ProfileConfig } from '../config/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TokenStore } from '../store/store.js';
import { sleep, type Clock } from '../token/clock.js';
import { requestToken, TokenEndpointError, type GrantRequest } from '../token/endpoint.js';
import type { Token } from '../token/token.js';
import { backoffDelay } from './backoff.js';

/** Obtains one new token for a given generation: the grant, retries and metrics, nothing else. */
export type TokenFetcher = (generation: number, opts: { local: boolean }) => Promise<Token>;

export interface FetcherDeps {
  readonly profile: ProfileConfig;
  readonly store: TokenStore;
  readonly key: string;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly instanceId: string;
  /** Whole budget for one fetch including retries; kept below the refresh lock's TTL. */
  readonly budgetMs: number;
}

/**
 * Calls the token endpoint with exponential backoff and jitter on retryable failures (5xx, 429,
 * network, timeout), honouring Retry-After, until `budgetMs` is spent. Each call's failure is logged
 * with the endpoint's OAuth error fields (never a secret) and counted.
 *
 * For the refresh_token grant the current refresh token is read from the store and the rotated one
 * written back before the access token is returned: the old one is spent from that moment on.
 */
export function createTokenFetcher(deps: FetcherDeps): TokenFetcher {
  const { profile, store, key, clock, metrics, log } = deps;
  let lastKnownRefreshToken = profile.refreshToken;

  async function grantRequest(local: boolean): Promise<GrantRequest> {
    if (profile.grant === 'client_credentials') return { grant: 'client_credentials' };
    const stored = local ? null : await store.getRefreshToken(key);
    const refreshToken = stored ?? lastKnownRefreshToken;
    if (!refreshToken) {
      throw new TokenEndpointError('rejected', 'no refresh token: set OAUTH_REFRESH_TOKEN (or _FILE) for the refresh_token grant');
    }
    return { grant: 'refresh_token', refreshToken };
  }

  return async function fetchToken(generation, { local }) {
    const deadline = clock.now() + deps.budgetMs;
    for (let attempt = 1; ; attempt++) {
      const started = clock.now();
      try {
        const grant = await grantRequest(local);
        const response = await requestToken(profile, grant, Math.max(1, deadline - started));
        metrics.tokenRequests.inc({ profile: profile.name, result: 'success' });
        metrics.tokenRequestDuration.observe({ profile: profile.name }, (clock.now() - started) / 1000);
        if (response.refreshToken) {
          lastKnownRefreshToken = response.refreshToken;
          if (!local) await store.putRefreshToken(key, response.refreshToken, generation).catch(() => false);
        }
        return {
          accessToken: response.accessToken,
          // Measured from when we asked, so the expiry we keep is never later than the real one.
          issuedAt: started,
          expiresAt: started + response.expiresInMs,
          generation,
          fetchedBy: deps.instanceId,
          ...(local ? { local: true } : {}),
          ...(response.lifetimeAssumed ? { lifetimeAssumed: true } : {}),
        };
      } catch (err) {
        const failure =
          err instanceof TokenEndpointError ? err : new TokenEndpointError('network', (err as Error).message);
        metrics.tokenRequests.inc({ profile: profile.name, result: failure.kind });
        metrics.tokenRequestDuration.observe({ profile: profile.name }, (clock.now() - started) / 1000);
        const delay = backoffDelay(attempt, { baseMs: 200, maxMs: 5_000, retryAfterMs: failure.retryAfterMs });
        const giveUp = !failure.retryable || clock.now() + delay >= deadline;
        log.warn(
          { profile: profile.name, attempt, status: failure.status, kind: failure.kind, oauthError: failure.oauthError, oauthDescription: failure.oauthDescription, correlationId: failure.correlationId, retryInMs: giveUp ? undefined : Math.round(delay) },
          `token request failed: ${failure.message}`,
        );
        if (giveUp) throw failure;
        await sleep(clock, delay);
      }
    }
  };
}
