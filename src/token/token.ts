/**
 * The token as the sidecar knows it. A leaf module: imports nothing from the rest of the sidecar.
 *
 * `accessToken` is a secret: never log it, serialise it to an admin response, or put it in a metric
 * or error. Use `describeToken()` for anything a person may see. Refresh tokens are not part of a
 * Token: they live in the store on their own (see TokenStore.putRefreshToken) so an invalidated
 * access token never takes its single-use refresh token with it.
 */
export interface Token {
  readonly accessToken: string;
  /** Epoch ms at which the token endpoint says it stops working (request start + expires_in). */
  readonly expiresAt: number;
  /** Epoch ms at which we asked for it. */
  readonly issuedAt: number;
  /**
   * Fleet-wide monotonically increasing number per (profile, slot), assigned by the store before the
   * token endpoint is called. A write lands only if its generation is newer than the stored one.
   */
  readonly generation: number;
  /** Instance id of the sidecar that fetched it (for /token and logs). */
  readonly fetchedBy: string;
  /**
   * True when fetched while the shared store was unreachable: the generation is then local to this
   * instance, so a token from the store later replaces it whatever its generation.
   */
  readonly local?: boolean;
  /** The token endpoint gave no expires_in: the lifetime is the configured default, not the provider's word. */
  readonly lifetimeAssumed?: boolean;
}

/** What may be shown about a token: everything but the secrets. */
export interface TokenMetadata {
  expiresAt: string;
  issuedAt: string;
  lifetimeSeconds: number;
  ageSeconds: number;
  generation: number;
  fetchedBy: string;
  /** Present (true) only when the lifetime is TOKEN_DEFAULT_LIFETIME_S because the endpoint sent no expires_in. */
  lifetimeAssumed?: true;
}

export function describeToken(token: Token, now: number): TokenMetadata {
  return {
    expiresAt: new Date(token.expiresAt).toISOString(),
    issuedAt: new Date(token.issuedAt).toISOString(),
    lifetimeSeconds: Math.round((token.expiresAt - token.issuedAt) / 1000),
    ageSeconds: Math.max(0, Math.round((now - token.issuedAt) / 1000)),
    generation: token.generation,
    fetchedBy: token.fetchedBy,
    ...(token.lifetimeAssumed === true && { lifetimeAssumed: true as const }),
  };
}

/** Lifetime in ms as granted by the token endpoint. */
export function lifetimeOf(token: Token): number {
  return token.expiresAt - token.issuedAt;
}

/**
 * How long before `expiresAt` a token stops being sent: 10% of its lifetime, capped at 30 s. Covers
 * clock skew and the time a request spends in flight, so an expired token is never sent.
 */
export function safetyMarginOf(token: Token): number {
  return Math.min(30_000, lifetimeOf(token) * 0.1);
}

/** A token is fresh (may be sent) until its safety margin before expiry. Pure: time is injected. */
export function isFresh(token: Token | undefined | null, now: number): token is Token {
  return token != null && now < token.expiresAt - safetyMarginOf(token);
}

/**
 * When a background refresh of this token should start: `refreshAt` of its lifetime, plus a jitter of
 * up to 5% of the lifetime (`jitter01` in [0,1)) so instances do not all try at once. Never later
 * than the moment it stops being fresh.
 */
export function refreshDueAt(token: Token, refreshAt: number, jitter01: number): number {
  const lifetime = lifetimeOf(token);
  const due = token.issuedAt + lifetime * refreshAt + lifetime * 0.05 * jitter01;
  return Math.min(due, token.expiresAt - safetyMarginOf(token));
}
