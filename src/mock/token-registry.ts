/**
 * The mock's access and refresh tokens: issuing, O(1) lookup on the API hot path, revocation,
 * refresh-token rotation, and a bounded table so long load runs do not grow memory without limit.
 */
import { randomBytes } from 'node:crypto';
import type { RateWindow } from './rate-window.js';
import type { Grant, MockCounters } from './stats.js';
import { SEED_USER } from './users.js';

export interface AccessToken {
  /** Opaque random string, never a JWT (docs/genesys.md §1: clients must not parse tokens). */
  readonly value: string;
  readonly clientId: string;
  /** `refresh_token` and `authorization_code` tokens carry a user context; `client_credentials` ones do not (docs/genesys.md §4). */
  readonly grant: Grant;
  /** The user a user-context token acts for (users.ts); undefined for client credentials. */
  readonly userId?: string;
  readonly expiresAt: number;
  /**
   * The window this token's API requests are counted in (rate-limits.ts): its own in per-token
   * mode, else the one it shares with its client, organisation or user; set on its first counted request.
   */
  usage: RateWindow | null;
  /** 1 for the first token issued, 2 for the next...: how /__stats names a token without showing it. */
  readonly serial: number;
  /** API requests made with this token while a rate limit is on, and how many of them got a 429. */
  apiRequests: number;
  rateLimited: number;
}

export interface TokenRegistryOptions {
  tokenLifetimeSeconds: number;
  revokeOnIssue: boolean;
  rotateRefreshTokens: boolean;
  refreshTokenSeed: string;
}

/** A refresh token redeemed: the one to hand back and the user its chain belongs to. */
export interface RedeemedRefreshToken {
  readonly refreshToken: string;
  readonly userId: string;
}

/**
 * More valid tokens than any honest load test holds; past it the oldest is evicted (and counted as
 * revoked) so a client minting tokens in a loop cannot exhaust the mock's memory.
 */
export const MAX_LIVE_TOKENS = 100_000;

function opaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

export class TokenRegistry {
  /**
   * Valid tokens by value, in issue order. Every token gets the same lifetime, so issue order is also
   * expiry order: expired tokens are always at the front and pruning stops at the first valid one.
   */
  private readonly live = new Map<string, AccessToken>();
  /**
   * With --revoke-on-issue: each client's latest client-credentials token. An entry may outlive its
   * token (expired or revoked); revoking it again is then a no-op.
   */
  private readonly currentClientCredentials = new Map<string, string>();
  /** Valid refresh tokens -> the user of their chain: one entry per chain, so it stays bounded. */
  private readonly refreshTokens = new Map<string, string>();
  /** Rotated-away refresh tokens, to count a reuse apart from a made-up token (bounded, oldest dropped). */
  private readonly spentRefreshTokens = new Set<string>();
  private readonly lifetimeMs: number;
  private issued = 0;

  constructor(
    private readonly options: TokenRegistryOptions,
    private readonly counters: MockCounters,
  ) {
    this.lifetimeMs = options.tokenLifetimeSeconds * 1000;
    this.refreshTokens.set(options.refreshTokenSeed, SEED_USER.id);
  }

  issue(clientId: string, grant: Grant, now: number, userId?: string): AccessToken {
    this.pruneExpired(now);
    if (this.live.size >= MAX_LIVE_TOKENS) this.revoke(this.live.keys().next().value!);
    const token: AccessToken = {
      value: opaqueToken(),
      clientId,
      grant,
      ...(userId !== undefined && { userId }),
      expiresAt: now + this.lifetimeMs,
      usage: null,
      serial: ++this.issued,
      apiRequests: 0,
      rateLimited: 0,
    };
    this.live.set(token.value, token);
    this.counters.tokensIssued++;
    if (grant === 'client_credentials' && this.options.revokeOnIssue) {
      const previous = this.currentClientCredentials.get(clientId);
      if (previous !== undefined) this.revoke(previous);
      this.currentClientCredentials.set(clientId, token.value);
    }
    return token;
  }

  /** The valid token with this value, or undefined when it is unknown, revoked or expired. */
  find(value: string, now: number): AccessToken | undefined {
    const token = this.live.get(value);
    if (token === undefined || now < token.expiresAt) return token;
    this.live.delete(value);
    return undefined;
  }

  /** Revokes a valid token; a no-op for unknown or already revoked ones. */
  revoke(value: string): void {
    if (!this.live.delete(value)) return;
    this.counters.tokensRevoked++;
  }

  activeCount(now: number): number {
    this.pruneExpired(now);
    return this.live.size;
  }

  /** The valid tokens, in issue order. */
  valid(now: number): IterableIterator<AccessToken> {
    this.pruneExpired(now);
    return this.live.values();
  }

  /** Starts a new refresh chain for `userId` (an authorization-code exchange) and returns its first token. */
  issueRefreshToken(userId: string): string {
    const refreshToken = opaqueToken();
    this.refreshTokens.set(refreshToken, userId);
    return refreshToken;
  }

  /**
   * Redeems a refresh token. Returns the refresh token to hand back and the chain's user, or undefined
   * when the presented one is unknown or already used (a reuse is counted). With rotation (the
   * default) refresh tokens are single use: the presented one is revoked and a new one returned;
   * without it the same one stays valid. Real Genesys rotation is unconfirmed (docs/genesys.md §4),
   * hence the knob.
   */
  redeemRefreshToken(presented: string): RedeemedRefreshToken | undefined {
    const userId = this.refreshTokens.get(presented);
    if (userId === undefined) {
      if (this.spentRefreshTokens.has(presented)) this.counters.refreshTokensReused++;
      return undefined;
    }
    if (!this.options.rotateRefreshTokens) return { refreshToken: presented, userId };
    this.refreshTokens.delete(presented);
    if (this.spentRefreshTokens.size >= MAX_LIVE_TOKENS) this.spentRefreshTokens.delete(this.spentRefreshTokens.values().next().value!);
    this.spentRefreshTokens.add(presented);
    const next = opaqueToken();
    this.refreshTokens.set(next, userId);
    return { refreshToken: next, userId };
  }

  private pruneExpired(now: number): void {
    for (const token of this.live.values()) {
      if (now < token.expiresAt) return;
      this.live.delete(token.value);
    }
  }
}
