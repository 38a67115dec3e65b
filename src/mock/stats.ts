/**
 * The mock's counters and the `GET /__stats` answer. Tests and the demo read these to prove what the
 * sidecar did to the upstream (how many token requests, how many 401s and 429s it let through).
 */

import type { BudgetHeaderKind } from './budget-headers.js';
import type { RateLimitedCounts, RateLimitMode } from './rate-limits.js';
import type { WindowKind } from './rate-window.js';

/** The grants the token endpoint serves, named as their `grant_type` values. */
export type Grant = 'client_credentials' | 'refresh_token' | 'authorization_code';

export interface MockStats {
  /** Every POST /oauth/token. `total = ok + failed + rateLimited`. */
  tokenRequests: {
    total: number;
    /** Answered 200 with a token. */
    ok: number;
    /** Answered any other status except 429: bad credentials or grant, injected failures. */
    failed: number;
    /** Answered 429 by --token-rate-limit. */
    rateLimited: number;
    /** Requests per recognised `grant_type`, whatever their outcome. */
    byGrant: Record<Grant, number>;
  };
  /** A refresh token that had already been rotated away was presented again (answered invalid_grant). */
  refreshTokensReused: number;
  /** Codes issued by an approved login at /oauth/authorize. */
  authorizationCodesIssued: number;
  /** GET /api/v2/users/me answered 200, by the id of the user the token belongs to. */
  usersMe: Record<string, number>;
  /** Access tokens issued (every grant). */
  tokensIssued: number;
  /** Access tokens revoked: DELETE /api/v2/tokens/me, --revoke-on-issue, or evicted from a full table. Expiry is not revocation. */
  tokensRevoked: number;
  /** Access tokens currently valid (not a counter: reset() leaves it alone). */
  activeTokens: number;
  /** Every response of an /api/v2 route, by HTTP status ("200", "401", "429", ...). */
  api: { total: number; byStatus: Record<string, number> };
  /** The API rate limit (--per-token-limit, --rate-limit-mode) and what it did. */
  rateLimit: RateLimitStats;
  /** Requests to the Limits API (GET /api/v2/organizations/limits/namespaces/...) that passed the gate, whatever they were answered. */
  limitsApiRequests: number;
  /** When the mock was built, ISO 8601, from the injected clock. Failure windows count from here. */
  startedAt: string;
}

export interface RateLimitStats {
  mode: RateLimitMode;
  /** Requests per window; 0 = no limit (then nothing below is counted). */
  limit: number;
  windowMs: number;
  windowKind: WindowKind;
  /** The budget headers API answers carry (--budget-headers). */
  budgetHeaders: BudgetHeaderKind;
  /**
   * 429s the limit answered, by the limit that answered them: the mode's, except that in per-user
   * mode client-credentials tokens are refused per token (injected 429s are not counted here).
   */
  rateLimited: RateLimitedCounts;
  /**
   * Per valid token that made API requests under the limit: its issue serial (1 = first token
   * issued; the token itself is never shown), requests and 429s, in issue order.
   */
  byToken: { token: number; requests: number; rateLimited: number }[];
}

/** The mutable counters behind MockStats; `reset()` zeroes them (POST /__reset). */
export class MockCounters {
  tokenRequests = { total: 0, ok: 0, failed: 0, rateLimited: 0 };
  tokenRequestsByGrant: Record<Grant, number> = { client_credentials: 0, refresh_token: 0, authorization_code: 0 };
  refreshTokensReused = 0;
  authorizationCodesIssued = 0;
  usersMe: Record<string, number> = {};
  tokensIssued = 0;
  tokensRevoked = 0;
  apiTotal = 0;
  apiByStatus: Record<string, number> = {};
  limitsApiRequests = 0;

  countTokenResponse(status: number, grant: Grant | undefined): void {
    this.tokenRequests.total++;
    if (status === 200) this.tokenRequests.ok++;
    else if (status === 429) this.tokenRequests.rateLimited++;
    else this.tokenRequests.failed++;
    if (grant !== undefined) this.tokenRequestsByGrant[grant]++;
  }

  countApiResponse(status: number): void {
    this.apiTotal++;
    this.apiByStatus[status] = (this.apiByStatus[status] ?? 0) + 1;
  }

  reset(): void {
    this.tokenRequests = { total: 0, ok: 0, failed: 0, rateLimited: 0 };
    this.tokenRequestsByGrant = { client_credentials: 0, refresh_token: 0, authorization_code: 0 };
    this.refreshTokensReused = 0;
    this.authorizationCodesIssued = 0;
    this.usersMe = {};
    this.tokensIssued = 0;
    this.tokensRevoked = 0;
    this.apiTotal = 0;
    this.apiByStatus = {};
    this.limitsApiRequests = 0;
  }

  snapshot(activeTokens: number, startedAt: number, rateLimit: RateLimitStats): MockStats {
    return {
      tokenRequests: { ...this.tokenRequests, byGrant: { ...this.tokenRequestsByGrant } },
      refreshTokensReused: this.refreshTokensReused,
      authorizationCodesIssued: this.authorizationCodesIssued,
      usersMe: { ...this.usersMe },
      tokensIssued: this.tokensIssued,
      tokensRevoked: this.tokensRevoked,
      activeTokens,
      api: { total: this.apiTotal, byStatus: { ...this.apiByStatus } },
      rateLimit,
      limitsApiRequests: this.limitsApiRequests,
      startedAt: new Date(startedAt).toISOString(),
    };
  }
}
