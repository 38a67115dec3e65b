import { GRANT_NAMES, grantEntry } from '../token/grants/index.js';
import { broken, ok, type Parsed } from './parsers.js';

/**
 * How the text of the OAuth2 provider settings (token request parameters, the injected header)
 * becomes a value. Shared by the flat settings and the profiles file, so both accept the same text.
 */

/** RFC 6749 §3.3: scope tokens are printable ASCII except space, `"` and `\`, separated by spaces. */
export function scopeList(text: string): Parsed<string> {
  const scopes = text.split(/\s+/).filter((scope) => scope !== '');
  if (scopes.some((scope) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope))) {
    return broken('must be space-separated scopes of printable ASCII without " or \\');
  }
  return ok(scopes.join(' '));
}

/** Sent as is; control characters would only ever be a copy-and-paste accident. */
export function plainValue(text: string): Parsed<string> {
  return /[\x00-\x1F\x7F]/.test(text) ? broken('must not contain control characters') : ok(text);
}

/** RFC 8707 §2: each resource is an absolute URI without a fragment; sent as repeated `resource` fields. */
export function resourceList(text: string): Parsed<readonly string[]> {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const bad = entries.flatMap((entry, i) => (URL.canParse(entry) && !entry.includes('#') ? [] : [i + 1]));
  if (entries.length === 0) return broken('must be a comma-separated list of absolute URIs');
  if (bad.length > 0) return broken(`entr${bad.length === 1 ? 'y' : 'ies'} ${bad.join(', ')}: must be an absolute URI without a fragment`);
  return ok(entries);
}

/**
 * Form fields the sidecar writes itself: the grant's (token/grants/index.ts), the client
 * authentication, and the parameters that have their own setting. An extra parameter may not replace
 * one of them.
 */
const RESERVED_PARAMS: Readonly<Record<string, string>> = {
  grant_type: 'is set by --grant',
  ...Object.assign({}, ...GRANT_NAMES.map((name) => grantEntry(name).fields)),
  client_id: 'is set by --client-id',
  client_secret: 'is set by --client-secret',
  client_assertion: 'is set by --token-auth private_key_jwt',
  client_assertion_type: 'is set by --token-auth private_key_jwt',
  scope: 'has its own setting, --scope',
  audience: 'has its own setting, --audience',
  resource: 'has its own setting, --resource',
};

/** Extra token request fields as `a=1&b=2` (form encoding; a name may repeat). */
export function tokenParams(text: string): Parsed<ReadonlyArray<readonly [string, string]>> {
  const pairs = [...new URLSearchParams(text)];
  if (pairs.length === 0 || pairs.some(([name]) => name === '')) return broken('must be name=value pairs joined by & (a=1&b=2)');
  const reserved = [...new Set(pairs.map(([name]) => name).filter((name) => name in RESERVED_PARAMS))];
  if (reserved.length > 0) return broken(reserved.map((name) => `${name} ${RESERVED_PARAMS[name]}`).join('; '));
  return ok(pairs.map(([name, value]) => [name, value] as const));
}

/**
 * Headers the token may not go in: hop-by-hop ones (RFC 9110 §7.6.1) are dropped on the way, `host`
 * and `content-length` frame the request itself, and the sidecar's own two are stripped before
 * forwarding.
 */
const FORBIDDEN_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'content-length', 'x-sidecar-key', 'x-token-profile',
]);

/** RFC 9110 §5.1 field name (a token), returned in lower case as the proxy compares it. */
export function injectHeaderName(text: string): Parsed<string> {
  const name = text.toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) return broken('must be an HTTP header name (letters, digits and !#$%&\'*+-.^_`|~)');
  if (FORBIDDEN_HEADERS.has(name)) return broken('must not be a hop-by-hop header, host, content-length, x-sidecar-key or x-token-profile');
  return ok(name);
}

/**
 * The text put before the token. Taken verbatim: `Bearer ` keeps its space, and an empty value means
 * no prefix (a bare API key). RFC 9110 §5.5 field value characters only. A prefix ending in a letter
 * or digit would run into the token (`Bearerey…`): almost always an env file that lost its trailing
 * space, so it is refused.
 */
export function injectPrefix(text: string): Parsed<string> {
  if (!/^[\t\x20-\x7E]*$/.test(text) || text.length > 64) return broken('must be at most 64 printable ASCII characters (spaces allowed)');
  if (/[A-Za-z0-9]$/.test(text)) return broken(`ends with a letter or digit, so the token would run into it; end it with a space (${JSON.stringify(`${text} `)})`);
  return ok(text);
}
