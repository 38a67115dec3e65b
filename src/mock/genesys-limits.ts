/**
 * The Genesys limit keys the mock names (docs/genesys.md §5, §10): in the Limits API's answers and,
 * with --limit-in-429, in the `limit` object of a 429 body. Which Limits API namespace holds the
 * Platform API keys is unconfirmed (docs/genesys.md §10), so the mock serves them under a namespace
 * that is a knob (--limits-namespace).
 */

/** Requests per client-credentials token per minute: 300 unless the organisation had it raised. */
export const CLIENT_CREDENTIALS_TOKEN_KEY = 'client.credentials.token.rate.per.minute';
/** Requests per token per minute, whatever the grant. */
export const TOKEN_KEY = 'token.rate.per.minute';
/** Requests per user per OAuth client per minute, for tokens that act for a user. */
export const APP_USER_KEY = 'org.app.user.rate.per.minute';
/** The largest request body, in bytes. */
export const REQUEST_BYTES_KEY = 'request.bytes.max';

/**
 * No Genesys key is documented for a limit over all tokens of one client or one organisation; these
 * two are the mock's own names, chosen so nobody mistakes them for Genesys's.
 */
export const MOCK_CLIENT_KEY = 'mock.client.rate.per.minute';
export const MOCK_ORG_KEY = 'mock.org.rate.per.minute';

/** Genesys's documented defaults for the keys above (docs/genesys.md §5). */
export const GENESYS_DEFAULT_PER_MINUTE = 300;
export const GENESYS_REQUEST_BYTES_MAX = 512_000;

/** The namespace the mock serves its limits under unless told otherwise (unconfirmed, docs/genesys.md §10). */
export const DEFAULT_LIMITS_NAMESPACE = 'platform.api';

/** A Genesys `Limit` (docs/genesys.md §10): what the Limits API lists and what a 429 body may name. */
export interface GenesysLimit {
  key: string;
  namespace: string;
  value: number;
}

/**
 * `limit` requests per `windowMs`, as a per-minute figure (50 per 10 s is 300 per minute): the unit
 * of every `*.per.minute` key. Rounded, and at least 1.
 */
export function perMinute(limit: number, windowMs: number): number {
  return Math.max(1, Math.round((limit * 60_000) / windowMs));
}
