/**
 * The mock's authorization codes (RFC 6749 §4.1, PKCE RFC 7636): issued by an approved login at
 * /oauth/authorize, redeemed once at /oauth/token.
 *
 * Rules:
 * - a code lives CODE_LIFETIME_MS on the injected clock;
 * - a code is spent by its first redemption attempt, whether or not that attempt passes the checks
 *   (client, redirect URI, code verifier): a stolen code cannot be tried against several verifiers;
 * - a spent code presented again is told apart from an unknown one ("already used"), and the access
 *   token issued for it is revoked (RFC 6749 §4.1.2: a code used twice may have been stolen);
 * - the tables are bounded, so a client minting codes in a loop cannot exhaust the mock's memory.
 */
import { createHash, randomBytes } from 'node:crypto';

export const CODE_LIFETIME_MS = 60_000;
const MAX_CODES = 10_000;

export interface CodeGrant {
  readonly clientId: string;
  readonly redirectUri: string;
  /** BASE64URL(SHA256(code_verifier)), as sent with code_challenge_method=S256. */
  readonly codeChallenge: string;
  readonly userId: string;
  readonly expiresAt: number;
}

export interface Redemption {
  readonly clientId: string;
  readonly redirectUri: string | undefined;
  readonly codeVerifier: string | undefined;
}

export type RedeemResult =
  | { readonly ok: true; readonly grant: CodeGrant; readonly onIssued: (accessToken: string) => void }
  | { readonly ok: false; readonly description: string; readonly revoke?: string };

/** RFC 7636 §4.1: 43 to 128 of the unreserved characters. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export class AuthorizationCodes {
  private readonly live = new Map<string, CodeGrant>();
  /** Spent code -> the access token issued for it (empty when its redemption failed). */
  private readonly spent = new Map<string, string>();

  issue(grant: Omit<CodeGrant, 'expiresAt'>, now: number): string {
    this.prune(now);
    if (this.live.size >= MAX_CODES) this.live.delete(this.live.keys().next().value!);
    const code = randomBytes(24).toString('base64url');
    this.live.set(code, { ...grant, expiresAt: now + CODE_LIFETIME_MS });
    return code;
  }

  redeem(code: string, request: Redemption, now: number): RedeemResult {
    const grant = this.live.get(code);
    if (grant === undefined) {
      if (!this.spent.has(code)) return { ok: false, description: 'authorization code is invalid or expired' };
      const issued = this.spent.get(code) ?? '';
      this.spent.set(code, '');
      return { ok: false, description: 'authorization code was already used', ...(issued !== '' && { revoke: issued }) };
    }
    this.live.delete(code);
    this.remember(code);
    if (now >= grant.expiresAt) return { ok: false, description: 'authorization code is invalid or expired' };
    if (grant.clientId !== request.clientId) return { ok: false, description: 'authorization code was issued to another client' };
    if (grant.redirectUri !== request.redirectUri) {
      return { ok: false, description: 'redirect_uri does not match the one of the authorization request' };
    }
    if (request.codeVerifier === undefined || !VERIFIER.test(request.codeVerifier) || s256(request.codeVerifier) !== grant.codeChallenge) {
      return { ok: false, description: 'code_verifier does not match the code_challenge' };
    }
    return { ok: true, grant, onIssued: (accessToken) => this.spent.set(code, accessToken) };
  }

  private remember(code: string): void {
    if (this.spent.size >= MAX_CODES) this.spent.delete(this.spent.keys().next().value!);
    this.spent.set(code, '');
  }

  /** Codes are issued in expiry order (one lifetime for all), so pruning stops at the first live one. */
  private prune(now: number): void {
    for (const [code, grant] of this.live) {
      if (now < grant.expiresAt) return;
      this.live.delete(code);
    }
  }
}
