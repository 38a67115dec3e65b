import { Agent, request, type Dispatcher } from 'undici';
import { clientProof, type ClientAuthentication } from './client-auth.js';
import type { GrantRequest } from './grants/grant.js';

/**
 * The OAuth2 token endpoint client: one POST with a form body (docs/genesys.md §1, §4): the grant's
 * fields (grants/), the client authenticated as its profile says (client-auth.ts), plus the profile's
 * scope, audience, resources and extra fields. It knows nothing of caching or coordination. Upstream TLS is verified (undici's
 * default; nothing here turns it off).
 *
 * Answers are read as real providers send them: any JSON content type, `expires_in` as a number or a
 * numeric string or missing (then `defaultLifetimeS`, flagged), `token_type` in any case, extra fields
 * ignored. A token type that needs a proof of possession on every request (DPoP, MAC, PoP) is
 * refused rather than sent as a bearer token; any other type is sent as the configured header says.
 */
/** A profile is one (ProfileConfig has these fields under these names). */
export interface TokenEndpointClient extends ClientAuthentication {
  readonly scope?: string;
  readonly audience?: string;
  readonly resources?: readonly string[];
  readonly tokenParams?: ReadonlyArray<readonly [string, string]>;
  /** Lifetime assumed when the answer has no expires_in; 300 s when not given. */
  readonly defaultLifetimeS?: number;
  /** Dispatcher for the token endpoint (its own pool, separate from the proxied traffic). */
  readonly dispatcher?: Dispatcher;
}

export interface TokenResponse {
  readonly accessToken: string;
  readonly expiresInMs: number;
  readonly refreshToken?: string;
  /** The answer had no expires_in: `expiresInMs` is the configured default lifetime. */
  readonly lifetimeAssumed?: boolean;
}

/** Token types that bind the token to a key: sending one as a bearer token would fail or be refused. */
const PROOF_TOKEN_TYPES = new Set(['dpop', 'mac', 'pop']);
const DEFAULT_LIFETIME_S = 300;

/** Why a token request failed, as a metric label and a retry decision. */
export type TokenFailureKind = 'rejected' | 'rate_limited' | 'server_error' | 'network' | 'timeout' | 'malformed';

/**
 * A failed token request. Carries the OAuth error fields (RFC 6749 §5.2, Genesys adds
 * `description`) with any secret scrubbed, never the request.
 */
export class TokenEndpointError extends Error {
  constructor(
    readonly kind: TokenFailureKind,
    message: string,
    readonly status?: number,
    readonly oauthError?: string,
    readonly oauthDescription?: string,
    /** From the endpoint's Retry-After header. */
    readonly retryAfterMs?: number,
    /** Genesys's ININ-Correlation-Id of the failed call, for a support case. */
    readonly correlationId?: string,
    /** RFC 6749 §5.2 error_uri: the provider's page about this error. */
    readonly oauthErrorUri?: string,
  ) {
    super(message);
    this.name = 'TokenEndpointError';
  }

  /** Credentials or grant rejected: retrying soon will not help (but a later retry may). */
  get retryable(): boolean {
    return this.kind !== 'rejected' && this.kind !== 'malformed';
  }

  /** One line for logs, error bodies and /readyz: never a secret. */
  get summary(): string {
    const parts = [this.message];
    if (this.oauthError) parts.push(`error=${this.oauthError}`);
    if (this.oauthDescription) parts.push(`description=${JSON.stringify(this.oauthDescription)}`);
    if (this.oauthErrorUri) parts.push(`uri=${this.oauthErrorUri}`);
    if (this.correlationId) parts.push(`correlationId=${this.correlationId}`);
    return parts.join(' ');
  }
}

let defaultAgent: Agent | undefined;
function tokenAgent(): Agent {
  // Few connections: the token endpoint sees about one request per token lifetime.
  defaultAgent ??= new Agent({ connections: 4, keepAliveTimeout: 10_000 });
  return defaultAgent;
}

export async function requestToken(
  client: TokenEndpointClient,
  grant: GrantRequest,
  timeoutMs: number,
): Promise<TokenResponse> {
  const form = new URLSearchParams(grant.fields.map(([name, value]) => [name, value]));
  if (client.scope !== undefined) form.set('scope', client.scope);
  if (client.audience !== undefined) form.set('audience', client.audience);
  for (const resource of client.resources ?? []) form.append('resource', resource);
  for (const [name, value] of client.tokenParams ?? []) form.append(name, value);
  let proof;
  try {
    proof = await clientProof(client);
  } catch (err) {
    // Only a key the provider's crypto refuses to use gets here: retrying will not help.
    throw new TokenEndpointError('malformed', `cannot authenticate the client: ${(err as Error).message}`);
  }
  for (const [name, value] of proof.fields) form.append(name, value);
  const secrets = [...proof.secrets, ...grant.secrets];
  let response: Dispatcher.ResponseData;
  try {
    response = await request(client.tokenUrl, {
      method: 'POST',
      dispatcher: client.dispatcher ?? tokenAgent(),
      headers: {
        ...proof.headers,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT') {
      throw new TokenEndpointError('timeout', `token endpoint did not answer within ${timeoutMs} ms`);
    }
    throw new TokenEndpointError('network', `token endpoint unreachable: ${e.code ?? e.message ?? 'unknown error'}`);
  }

  const { statusCode, headers, body } = response;
  let text: string;
  try {
    text = await body.text();
  } catch {
    throw new TokenEndpointError('network', `token endpoint closed the connection while answering (HTTP ${statusCode})`, statusCode);
  }
  const json = parseJson(text);

  if (statusCode === 200) return tokenFrom(json, client.defaultLifetimeS ?? DEFAULT_LIFETIME_S);

  const kind: TokenFailureKind =
    statusCode === 429 ? 'rate_limited' : statusCode >= 500 ? 'server_error' : 'rejected';
  // OAuth-shaped bodies carry error/error_description (Genesys adds description); Platform-shaped
  // ones (a 429 or 5xx from the gateway) carry code/message (docs/genesys.md §6); anything else: a snippet.
  const error = stringField(json?.error) ?? stringField(json?.code);
  const description =
    stringField(json?.error_description) ?? stringField(json?.description) ?? stringField(json?.message) ?? (json ? undefined : stringField(text.trim()) || undefined);
  const correlation = headers['inin-correlation-id'];
  const errorUri = stringField(json?.error_uri);
  throw new TokenEndpointError(
    kind,
    `token endpoint answered HTTP ${statusCode}`,
    statusCode,
    scrub(error, secrets),
    scrub(description?.slice(0, 200), secrets),
    parseRetryAfter(headers['retry-after']),
    typeof correlation === 'string' ? correlation.slice(0, 100) : undefined,
    scrub(errorUri, secrets),
  );
}

/** A 200 answer as a token, or why it is not one (never retried: the endpoint would answer the same). */
function tokenFrom(json: Record<string, unknown> | undefined, defaultLifetimeS: number): TokenResponse {
  const accessToken = json?.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new TokenEndpointError('malformed', 'token endpoint answered 200 without an access_token', 200);
  }
  const tokenType = typeof json?.token_type === 'string' ? json.token_type.toLowerCase() : 'bearer';
  if (PROOF_TOKEN_TYPES.has(tokenType)) {
    throw new TokenEndpointError(
      'malformed',
      // Worded so that log scrubbing (which hides whatever follows "Bearer ") leaves it readable.
      `token endpoint issued a ${String(json?.token_type).slice(0, 20)} token, which needs a proof of possession on every request; ` +
        'the sidecar sends tokens of type Bearer, so it refuses this one (turn DPoP/PoP binding off for this client)',
      200,
    );
  }
  const refreshToken = typeof json?.refresh_token === 'string' ? json.refresh_token : undefined;
  const rawExpiresIn = json?.expires_in;
  if (rawExpiresIn === undefined || rawExpiresIn === null || rawExpiresIn === '') {
    return { accessToken, expiresInMs: defaultLifetimeS * 1000, refreshToken, lifetimeAssumed: true };
  }
  const expiresIn = typeof rawExpiresIn === 'number' || typeof rawExpiresIn === 'string' ? Number(rawExpiresIn) : NaN;
  if (!(expiresIn > 0) || !Number.isFinite(expiresIn)) {
    throw new TokenEndpointError('malformed', 'token endpoint answered 200 with an expires_in that is not a positive number of seconds', 200);
  }
  return { accessToken, expiresInMs: expiresIn * 1000, refreshToken };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, 300) : undefined;
}

/** Error text comes from a remote party: make sure it cannot echo a secret into our logs. */
function scrub(text: string | undefined, secrets: readonly string[]): string | undefined {
  if (text === undefined) return undefined;
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('<hidden>');
  return out;
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in ms. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
