import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * PKCE (RFC 7636) and the `state` of one login. The verifier and state are secrets of this process:
 * never printed or logged (the challenge is public: it travels in the authorization URL).
 */
export interface Pkce {
  /** 43 base64url characters from 32 random bytes (RFC 7636 §4.1). Secret. */
  readonly verifier: string;
  /** BASE64URL(SHA256(verifier)), sent with code_challenge_method=S256. */
  readonly challenge: string;
}

export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** An unguessable `state` (RFC 6749 §10.12): binds the callback to this login, against CSRF. */
export function createState(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time comparison, so the callback's answer time says nothing about the expected state. */
export function sameState(expected: string, received: string | undefined): boolean {
  if (received === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}
