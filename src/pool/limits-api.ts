import { request, type Dispatcher } from 'undici';

/**
 * Reads one effective rate limit of the organisation from Genesys's Limits API (docs/genesys.md §10):
 * `GET {api}/api/v2/organizations/limits/namespaces/{namespace}` answers a `LimitsEntityListing`,
 * `{"entities":[{"key":…,"namespace":…,"value":…}, …]}`, and the limit asked for is the entity whose
 * `key` matches. Every `*.per.minute` key counts requests per minute, so the value is taken as is.
 *
 * One GET, with the caller's bearer token and dispatcher, bounded by `timeoutMs`. It never throws:
 * every way it can fail is a typed `LimitsApiFailure` with a reason for the log, so the caller falls
 * back (to Genesys's documented 300) without a try. The token goes in the Authorization header and
 * nowhere else: no reason, status or log line carries it.
 */

/** The key of the per-token budget of a client-credentials token (docs/genesys.md §5). */
export const CLIENT_CREDENTIALS_RATE_KEY = 'client.credentials.token.rate.per.minute';
/** The key of the budget per user per OAuth client, for user-context tokens (docs/genesys.md §5). */
export const APP_USER_RATE_KEY = 'org.app.user.rate.per.minute';
/**
 * The namespace to ask for those keys. Unconfirmed (docs/genesys.md §10): the limits documentation
 * files them under "Platform API", which the namespace name is taken from; a 404 says otherwise.
 */
export const PLATFORM_API_NAMESPACE = 'platform.api';

export interface LimitsApiQuery {
  /** The API origin the sidecar forwards to, e.g. `https://api.mypurecloud.com`; a path prefix is kept. */
  readonly apiBaseUrl: string;
  /** The bearer token to ask with (its bare value, without `Bearer `). */
  readonly accessToken: string;
  /** Whose connections to use; undici's global dispatcher when absent. */
  readonly dispatcher?: Dispatcher;
  /** The whole exchange, headers and body, must end within this. */
  readonly timeoutMs: number;
  readonly namespace?: string;
  readonly key?: string;
}

export interface LimitsApiValue {
  /** Requests per minute the organisation is allowed under that key. */
  readonly perMinute: number;
  readonly source: 'limits-api';
}

/** Why the Limits API gave no value, one word per way it fails. */
export type LimitsApiFailureKind =
  /** 403: the client lacks the permission (older SDK docs name `limits:organization:view`). */
  | 'forbidden'
  /** 401: the token was refused. */
  | 'unauthorized'
  /** 404: no such namespace. */
  | 'unknown-namespace'
  /** A listing without that key. */
  | 'key-absent'
  /** The key's value is not a positive number. */
  | 'bad-value'
  /** The answer is not JSON, or not a listing, or too large to be one. */
  | 'bad-json'
  /** No complete answer within `timeoutMs`. */
  | 'timeout'
  /** No answer at all: connection refused, reset, DNS. */
  | 'network'
  /** Any other status (429, 5xx, …). */
  | 'http-error';

export interface LimitsApiFailure {
  readonly failure: LimitsApiFailureKind;
  /** One line for the log: what was asked and what came back, never the token. */
  readonly reason: string;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;
}

export type LimitsApiResult = LimitsApiValue | LimitsApiFailure;

/** A listing of a few limits is well under a kilobyte; anything past this is not one. */
const MAX_BODY_BYTES = 256 * 1024;

export async function readLimitFromLimitsApi(query: LimitsApiQuery): Promise<LimitsApiResult> {
  const namespace = query.namespace ?? PLATFORM_API_NAMESPACE;
  const key = query.key ?? CLIENT_CREDENTIALS_RATE_KEY;
  const path = `/api/v2/organizations/limits/namespaces/${encodeURIComponent(namespace)}`;
  const asked = `GET ${path} for ${key}`;
  const signal = AbortSignal.timeout(query.timeoutMs);
  try {
    const response = await request(`${query.apiBaseUrl.replace(/\/+$/, '')}${path}`, {
      method: 'GET',
      headers: { authorization: `Bearer ${query.accessToken}`, accept: 'application/json' },
      ...(query.dispatcher && { dispatcher: query.dispatcher }),
      signal,
    });
    const text = await readBounded(response.body);
    const status = response.statusCode;
    if (status !== 200) return failed(failureOfStatus(status), `${asked}: HTTP ${status}${genesysError(text, query.accessToken)}`, status);
    if (text === undefined) return failed('bad-json', `${asked}: answer larger than ${MAX_BODY_BYTES} bytes`, status);
    const entities = entitiesOf(text);
    if (entities === undefined) return failed('bad-json', `${asked}: the answer is not a JSON listing of limits`, status);
    const entity = entities.find((candidate) => (candidate as { key?: unknown } | null)?.key === key) as { value?: unknown } | undefined;
    if (entity === undefined) return failed('key-absent', `${asked}: namespace ${namespace} lists no ${key}`, status);
    const value = entity.value;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      return failed('bad-value', `${asked}: value ${JSON.stringify(value) ?? 'undefined'} is not a positive number`, status);
    }
    return { perMinute: value, source: 'limits-api' };
  } catch (error) {
    if (signal.aborted) return failed('timeout', `${asked}: no complete answer within ${query.timeoutMs} ms`);
    const code = (error as { code?: unknown }).code;
    return failed('network', `${asked}: ${typeof code === 'string' ? code : (error as Error).name}`);
  }
}

function failed(failure: LimitsApiFailureKind, reason: string, status?: number): LimitsApiFailure {
  return status === undefined ? { failure, reason } : { failure, reason, status };
}

function failureOfStatus(status: number): LimitsApiFailureKind {
  if (status === 403) return 'forbidden';
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'unknown-namespace';
  return 'http-error';
}

/** The whole body as text, or undefined past MAX_BODY_BYTES (the rest is discarded). */
async function readBounded(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `entities` of a LimitsEntityListing, or undefined when the text is not one. */
function entitiesOf(text: string): unknown[] | undefined {
  try {
    const entities = (JSON.parse(text) as { entities?: unknown } | null)?.entities;
    return Array.isArray(entities) ? entities : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `: <code> <message>` of a Genesys ErrorBody (docs/genesys.md §6), for the reason; empty otherwise.
 * This is the only upstream text a reason quotes, so the token is cut out of it here, in case an
 * upstream echoes what it was sent.
 */
function genesysError(text: string | undefined, accessToken: string): string {
  if (text === undefined) return '';
  try {
    const { code, message } = JSON.parse(text) as { code?: unknown; message?: unknown };
    const scrub = (part: string) => (accessToken === '' ? part : part.replaceAll(accessToken, '[token]'));
    const parts = [code, message].filter((part): part is string => typeof part === 'string').map((part) => scrub(part).slice(0, 200));
    return parts.length === 0 ? '' : `: ${parts.join(' ')}`;
  } catch {
    return '';
  }
}
