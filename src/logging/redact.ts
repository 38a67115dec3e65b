/**
 * Redaction: what of a log call may reach a log line. The code never logs a token or a secret on
 * purpose; this is the defence in depth behind that rule (README "What it guarantees" 7). Every log
 * call's object goes through `redactLogObject` (the logger factory, ../logging.ts, wires it in):
 *
 * 1. By key name: a field named in SECRET_KEYS is censored at any depth up to MAX_DEPTH, in plain
 *    objects and arrays (headers, configs, tokens, request options).
 * 2. Errors (an Error anywhere in the object, or an `err`/`error`/`cause` field, or an Error passed as
 *    the first argument) are reduced by `safeError` to name, message, code, stack, cause and a few
 *    known-safe fields (status, kind, OAuth error fields): an error can never carry a config,
 *    headers or a request into a log line.
 * 3. Text that looks like a credential is scrubbed wherever a string is logged, the message
 *    included: `Bearer …`, `Basic …`, `user:pass@` in URLs, `access_token=…` / `"refresh_token":"…"` /
 *    `client_assertion=…`, PEM private key blocks, and anything shaped like a signed JWT.
 *
 * This replaces pino's `redact` paths: those match one level per `*`, so covering a few levels costs
 * tens of microseconds a line (measured: 45 µs for 3 levels), where this walk costs well under one,
 * which matters for the per-request debug lines under load.
 *
 * Child-logger bindings (`log.child({...})`) are not walked: they are set by code, never from data.
 */
export const REDACT_CENSOR = '<redacted>';

/** Field names whose values are secrets wherever they appear in a log object (exact match). */
export const SECRET_KEYS: readonly string[] = [
  'authorization',
  'Authorization',
  'proxy-authorization',
  'x-sidecar-key',
  'X-Sidecar-Key',
  'cookie',
  'set-cookie',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'clientSecret',
  'client_secret',
  'inboundApiKey',
  'password',
  'secret',
  // private_key_jwt: the key (as configured, and its PKCS#8 form) and the signed assertions.
  'privateKey',
  'private_key',
  'pkcs8',
  'clientAssertion',
  'client_assertion',
  'assertion',
  // The usual header for an API key injected without a prefix (INJECT_HEADER=x-api-key).
  'x-api-key',
];
const SECRET_KEY_SET: ReadonlySet<string> = new Set(SECRET_KEYS);

/** Objects deeper than this are logged as they are (nothing the sidecar logs comes near it). */
export const MAX_DEPTH = 8;

const LOOKS_SECRET = /bearer|basic|:\/\/[^\s/]*@|token|secret|password|assertion|PRIVATE KEY|eyJ/i;
const SCRUBBERS: ReadonlyArray<readonly [RegExp, string]> = [
  // HTTP credentials: `Authorization: Bearer <token>`, Basic base64(client:secret).
  [/\b(Bearer|Basic)(\s+)[A-Za-z0-9\-._~+/]+=*/gi, `$1$2${REDACT_CENSOR}`],
  // Userinfo in URLs: redis://:password@host, https://user:pass@host.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"]*@/gi, `$1${REDACT_CENSOR}@`],
  // Form, query and JSON fields: access_token=…, "refresh_token":"…", client_secret: …
  [/\b(access_?token|refresh_?token|id_?token|client_?secret|client_?assertion|password)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi, `$1$2${REDACT_CENSOR}`],
  // PEM private keys (private_key_jwt), whole blocks.
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, `-----BEGIN $1PRIVATE KEY----- ${REDACT_CENSOR}`],
  // Signed JWTs anywhere (JWT access tokens, client assertions): header.payload.signature, header `{"`.
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACT_CENSOR],
];

/** `text` with anything that looks like a credential replaced by `<redacted>`. */
export function scrubText(text: string): string {
  if (!LOOKS_SECRET.test(text)) return text;
  let out = text;
  for (const [pattern, replacement] of SCRUBBERS) out = out.replace(pattern, replacement);
  return out;
}

/** Error fields besides name/message/code/stack that are known to hold no secret. */
const SAFE_ERROR_FIELDS = ['kind', 'status', 'statusCode', 'oauthError', 'oauthDescription', 'oauthErrorUri', 'correlationId', 'retryAfterMs', 'errno', 'syscall'] as const;
const MAX_CAUSE_DEPTH = 3;

/**
 * An error reduced to what may be logged: name, message, code, stack, cause (same treatment, a few
 * levels), AggregateError's errors, and SAFE_ERROR_FIELDS, with text scrubbed. Anything else an error
 * object carries (request options, config, headers, response bodies) is dropped. Strings are
 * scrubbed; other non-objects pass.
 */
export function safeError(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  const err = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const name = typeof err.name === 'string' ? err.name : value instanceof Error ? value.constructor.name : undefined;
  if (name) out.name = name;
  out.message = typeof err.message === 'string' ? scrubText(err.message) : '';
  if (typeof err.code === 'string' || typeof err.code === 'number') out.code = err.code;
  for (const field of SAFE_ERROR_FIELDS) {
    const v = err[field];
    if (typeof v === 'number' || typeof v === 'boolean') out[field] = v;
    else if (typeof v === 'string') out[field] = scrubText(v);
  }
  if (typeof err.stack === 'string') out.stack = scrubText(err.stack);
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = safeError(err.cause, depth + 1);
  if (Array.isArray(err.errors) && depth < MAX_CAUSE_DEPTH) out.errors = err.errors.slice(0, 5).map((e) => safeError(e, depth + 1));
  return out;
}

const ERROR_KEYS: ReadonlySet<string> = new Set(['err', 'error', 'cause']);

/**
 * `value` as it may be logged (layers 1 to 3 above). Copy-on-write: objects without anything to
 * censor are returned as they are, so the common case allocates nothing.
 */
export function redactLogObject(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return safeError(value);
  if (value instanceof URL) return scrubText(value.href);
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = redactLogObject(value[i], depth + 1);
      if (next !== value[i]) (copy ??= value.slice())[i] = next;
    }
    return copy ?? value;
  }
  // Class instances (a fastify Request or Reply, a socket) are not walked: their graphs are large and
  // cyclic, and what is logged of them is decided by a serializer (`req`, `res`) or by the caller.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    const v = record[key];
    let next: unknown;
    if (v === undefined || v === null) continue;
    else if (SECRET_KEY_SET.has(key)) next = REDACT_CENSOR;
    else if (ERROR_KEYS.has(key) && typeof v === 'object') next = safeError(v);
    else next = redactLogObject(v, depth + 1);
    if (next !== v) (copy ??= { ...record })[key] = next;
  }
  return copy ?? value;
}

