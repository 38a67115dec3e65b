import { Agent, request, type Dispatcher } from 'undici';

/**
 * The OAuth2 token endpoint client: one POST, Basic client authentication, form body (docs/genesys.md §1,
 * §4). It knows nothing of caching or coordination. Upstream TLS is verified (undici's default;
 * nothing here turns it off).
 */
export type GrantRequest =
  | { readonly grant: 'client_credentials' }
  | { readonly grant: 'refresh_token'; readonly refreshToken: string }
  /** `token-sidecar login`'s code exchange (RFC 6749 §4.1.3 with PKCE, RFC 7636 §4.5). */
  | { readonly grant: 'authorization_code'; readonly code: string; readonly redirectUri: string; readonly codeVerifier: string };

export interface TokenEndpointClient {
  readonly tokenUrl: string;
  readonly clientId: string;
  /** Empty: a public client (login's PKCE grant), which sends `client_id` in the form instead of Basic. */
  readonly clientSecret: string;
  /** Dispatcher for the token endpoint (its own pool, separate from the proxied traffic). */
  readonly dispatcher?: Dispatcher;
}

export interface TokenResponse {
  readonly accessToken: string;
  readonly expiresInMs: number;
  readonly refreshToken?: string;
}

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
  const form = new URLSearchParams({ grant_type: grant.grant });
  if (grant.grant === 'refresh_token') form.set('refresh_token', grant.refreshToken);
  if (grant.grant === 'authorization_code') {
    form.set('code', grant.code);
    form.set('redirect_uri', grant.redirectUri);
    form.set('code_verifier', grant.codeVerifier);
  }
  const publicClient = client.clientSecret === '';
  if (publicClient) form.set('client_id', client.clientId);
  const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
  const secrets =
    grant.grant === 'refresh_token' ? [client.clientSecret, grant.refreshToken]
    : grant.grant === 'authorization_code' ? [client.clientSecret, grant.code, grant.codeVerifier]
    : [client.clientSecret];

  let response: Dispatcher.ResponseData;
  try {
    response = await request(client.tokenUrl, {
      method: 'POST',
      dispatcher: client.dispatcher ?? tokenAgent(),
      headers: {
        ...(!publicClient && { authorization: `Basic ${basic}` }),
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

  if (statusCode === 200) {
    const accessToken = json?.access_token;
    const expiresIn = Number(json?.expires_in);
    if (typeof accessToken !== 'string' || accessToken.length === 0 || !(expiresIn > 0)) {
      throw new TokenEndpointError('malformed', 'token endpoint answered 200 without access_token and a positive expires_in', statusCode);
    }
    const refreshToken = typeof json?.refresh_token === 'string' ? json.refresh_token : undefined;
    return { accessToken, expiresInMs: expiresIn * 1000, refreshToken };
  }

  const kind: TokenFailureKind =
    statusCode === 429 ? 'rate_limited' : statusCode >= 500 ? 'server_error' : 'rejected';
  // OAuth-shaped bodies carry error/error_description (Genesys adds description); Platform-shaped
  // ones (a 429 or 5xx from the gateway) carry code/message (docs/genesys.md §6); anything else: a snippet.
  const error = stringField(json?.error) ?? stringField(json?.code);
  const description =
    stringField(json?.error_description) ?? stringField(json?.description) ?? stringField(json?.message) ?? (json ? undefined : stringField(text.trim()) || undefined);
  const correlation = headers['inin-correlation-id'];
  throw new TokenEndpointError(
    kind,
    `token endpoint answered HTTP ${statusCode}`,
    statusCode,
    scrub(error, secrets),
    scrub(description?.slice(0, 200), secrets),
    parseRetryAfter(headers['retry-after']),
    typeof correlation === 'string' ? correlation.slice(0, 100) : undefined,
  );
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
