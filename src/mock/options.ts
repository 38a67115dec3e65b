import { BUDGET_HEADER_KINDS, type BudgetHeaderKind } from './budget-headers.js';
import { DEFAULT_LIMITS_NAMESPACE } from './genesys-limits.js';
import { RATE_LIMIT_MODES, type RateLimitMode } from './rate-limits.js';
import type { WindowKind } from './rate-window.js';
import { DEFAULT_USERS_SPEC, parseUsers, type MockUser } from './users.js';

/**
 * Knobs of the Genesys-compatible rehearsal upstream (`token-sidecar mock`), their defaults, and the
 * argv/env parser. Every knob is a flag `--name` and an env variable `MOCK_NAME` (upper snake case);
 * a flag wins over env. Validation reports every problem at once, each naming the flag or env
 * variable it came from, so the CLI can exit 2 with one actionable message.
 */

/** A span of time relative to the mock's start, in milliseconds: [startMs, endMs). */
export interface TimeWindow {
  startMs: number;
  endMs: number;
}

export interface MockOptions {
  /** The one OAuth client the token endpoint accepts (Basic auth). */
  clientId: string;
  clientSecret: string;
  /** `expires_in` of every access token; fractional seconds allowed so tests can expire tokens fast. */
  tokenLifetimeSeconds: number;
  /** Issuing a client-credentials token revokes the client's older client-credentials tokens. */
  revokeOnIssue: boolean;
  /** Delay before /oauth/token answers. */
  tokenLatencyMs: number;
  /** Delay before every /api/v2 route answers. */
  apiLatencyMs: number;
  /** Requests /oauth/token accepts per window before answering 429 (0 = unlimited). */
  tokenRateLimit: number;
  tokenRateWindowMs: number;
  /** API requests each access token may make per window (docs/genesys.md §5: 300/min; 0 = unlimited). */
  perTokenLimit: number;
  perTokenWindowMs: number;
  /**
   * Whom that limit counts (rate-limits.ts; docs/genesys.md §5, §10): each token, all tokens of a
   * client, all tokens of the organisation, or each user per client (client-credentials tokens then
   * per token).
   */
  rateLimitMode: RateLimitMode;
  /** Whether that window is fixed (opens at the first request) or sliding; Genesys does not say (docs/genesys.md §5). */
  windowKind: WindowKind;
  /** Which budget headers API answers carry; Genesys sends none since 2021 (docs/genesys.md §5). */
  budgetHeaders: BudgetHeaderKind;
  /** A 429 of that limit names it in its body (`limit: {key, namespace, value}`); unconfirmed for Genesys (docs/genesys.md §5). */
  limitIn429: boolean;

  // ---- The Limits API (docs/genesys.md §10) ----
  /** The namespace GET /api/v2/organizations/limits/namespaces/{namespace} serves the rate limits under. */
  limitsNamespace: string;
  /** The per-minute value it reports for them; null = the per-token limit scaled to a minute, or 300 without one. */
  limitsApiValue: number | null;
  /** It answers 403 `missing.permissions` instead, as for a client without the permission older SDK docs name. */
  limitsApiForbidden: boolean;
  /** Every Nth token request fails with `failTokenStatus` (0 = never). */
  failTokenEvery: number;
  failTokenStatus: number;
  /** The token endpoint fails with `failTokenStatus` during this window. */
  failTokenWindow: TimeWindow | null;
  /** Same three for API routes. */
  failApiEvery: number;
  failApiStatus: number;
  failApiWindow: TimeWindow | null;
  /** Refresh tokens are single use: each refresh returns a new one and revokes the one presented. */
  rotateRefreshTokens: boolean;
  /** A refresh token accepted from the start, so a user-context grant can begin without a login. */
  refreshTokenSeed: string;

  // ---- The authorization-code login (/oauth/authorize) ----
  /** Who may log in at /oauth/authorize; GET /api/v2/users/me answers with the user a token belongs to. */
  users: readonly MockUser[];
  /** Redirect URIs registered for the client; an authorization request must name one exactly. */
  redirectUris: readonly string[];
  /**
   * Whether the code exchange of a public client (PKCE, no secret) returns a refresh token. Genesys
   * documents refresh tokens for the code grant of confidential clients (docs/genesys.md §4); for its
   * PKCE grant it is unconfirmed, so the default is the cautious answer: none.
   */
  publicClientRefreshTokens: boolean;
}

export const mockDefaults: Readonly<MockOptions> = Object.freeze({
  clientId: 'demo-client',
  clientSecret: 'demo-secret',
  tokenLifetimeSeconds: 86400, // docs/genesys.md §1: the default token duration is 24 h
  revokeOnIssue: false, // docs/genesys.md §3: real tokens of one client stay valid side by side
  tokenLatencyMs: 0,
  apiLatencyMs: 0,
  tokenRateLimit: 0,
  tokenRateWindowMs: 60_000,
  perTokenLimit: 0, // off so tests are never throttled unless they ask; Genesys enforces 300
  perTokenWindowMs: 60_000,
  rateLimitMode: 'per-token', // what the limit's key name says (docs/genesys.md §5)
  windowKind: 'fixed',
  budgetHeaders: 'none', // docs/genesys.md §5: Genesys removed its inin-ratelimit-* headers in 2021
  limitIn429: false, // docs/genesys.md §5: whether 429 bodies fill `limit` is unconfirmed
  limitsNamespace: DEFAULT_LIMITS_NAMESPACE,
  limitsApiValue: null,
  limitsApiForbidden: false,
  failTokenEvery: 0,
  failTokenStatus: 503,
  failTokenWindow: null,
  failApiEvery: 0,
  failApiStatus: 503,
  failApiWindow: null,
  rotateRefreshTokens: true, // docs/genesys.md §4: rotation is unconfirmed, so the strict behaviour is the default
  refreshTokenSeed: 'demo-refresh-token',
  users: (parseUsers(DEFAULT_USERS_SPEC) as { users: readonly MockUser[] }).users,
  redirectUris: Object.freeze(['http://127.0.0.1:8085/callback']),
  publicClientRefreshTokens: false,
});

const defaultMockHost = '127.0.0.1';
const defaultMockPort = 9000;

/** Thrown by parseMockArgs; `problems` holds one line per invalid setting. */
export class MockUsageError extends Error {
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(`invalid mock settings:\n  ${problems.join('\n  ')}`);
    this.name = 'MockUsageError';
    this.problems = problems;
  }
}

/** A value parser: returns the parsed value, or a rule to report as `must be <rule>`. */
type ValueParser = (raw: string) => { value: unknown } | { rule: string };

const text: ValueParser = (raw) => (raw === '' ? { rule: 'a non-empty string' } : { value: raw });

function numberAtLeast(min: number, exclusive: boolean, integer: boolean, rule: string): ValueParser {
  return (raw) => {
    const n = raw.trim() === '' ? NaN : Number(raw);
    const ok = Number.isFinite(n) && (exclusive ? n > min : n >= min) && (!integer || Number.isInteger(n));
    return ok ? { value: n } : { rule };
  };
}

const positiveSeconds = numberAtLeast(0, true, false, 'a positive number of seconds');
const positiveMs = numberAtLeast(0, true, false, 'a positive number of milliseconds');
const delayMs = numberAtLeast(0, false, false, 'a number of milliseconds, 0 or more');
const count = numberAtLeast(0, false, true, 'a whole number, 0 or more (0 = off)');

const errorStatus: ValueParser = (raw) => {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 400 && n <= 599 ? { value: n } : { rule: 'an HTTP error status from 400 to 599' };
};

const port: ValueParser = (raw) => {
  const n = Number(raw);
  return raw.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 65535
    ? { value: n }
    : { rule: 'a port number from 0 to 65535' };
};

const timeWindow: ValueParser = (raw) => {
  const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(raw);
  const startMs = Number(match?.[1]);
  const endMs = Number(match?.[2]);
  return match && startMs < endMs
    ? { value: { startMs, endMs } satisfies TimeWindow }
    : { rule: 'a window "startMs-endMs" after mock start, with start < end' };
};

const positiveCount = numberAtLeast(0, true, true, 'a whole number, 1 or more');

/** One of a fixed list of words, case-insensitive. */
function oneOf(words: readonly string[]): ValueParser {
  const rule = `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
  return (raw) => {
    const word = raw.trim().toLowerCase();
    return words.includes(word) ? { value: word } : { rule };
  };
}

const rateLimitMode = oneOf(RATE_LIMIT_MODES);
const windowKind = oneOf(['fixed', 'sliding'] satisfies WindowKind[]);
const budgetHeaders = oneOf(BUDGET_HEADER_KINDS);

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, on: true, yes: true, '1': true, false: false, off: false, no: false, '0': false };

const boolean: ValueParser = (raw) => {
  const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
  return value === undefined ? { rule: 'true or false (on/off, yes/no, 1/0)' } : { value };
};

const users: ValueParser = (raw) => {
  const parsed = parseUsers(raw);
  return 'users' in parsed ? { value: parsed.users } : parsed;
};

/** Absolute http(s) URIs without a fragment (RFC 6749 §3.1.2), comma-separated. */
const redirectUris: ValueParser = (raw) => {
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const valid = (entry: string) => URL.canParse(entry) && /^https?:$/.test(new URL(entry).protocol) && !entry.includes('#');
  return entries.length > 0 && entries.every(valid)
    ? { value: Object.freeze(entries) }
    : { rule: 'a comma-separated list of absolute http(s) URIs without a fragment' };
};

interface Knob {
  flag: string;
  /** Placeholder for the value in --help; switches have none. */
  arg?: string;
  /** Where the parsed value goes: a MockOptions field, or the listen address. */
  key: keyof MockOptions | 'host' | 'port';
  parse: ValueParser;
  /** Boolean knobs take no value (`--flag`, `--no-flag`, or `--flag=false`). */
  isSwitch?: boolean;
  help: string;
  /** How --help shows the default when it is not a plain value. */
  shownDefault?: string;
}

const KNOBS: readonly Knob[] = [
  { flag: 'client-id', arg: 'id', key: 'clientId', parse: text, help: 'OAuth client id the token endpoint accepts' },
  { flag: 'client-secret', arg: 'secret', key: 'clientSecret', parse: text, help: 'its secret' },
  { flag: 'token-lifetime', arg: 'seconds', key: 'tokenLifetimeSeconds', parse: positiveSeconds, help: 'expires_in; fractions allowed (0.5)' },
  { flag: 'revoke-on-issue', key: 'revokeOnIssue', parse: boolean, isSwitch: true, help: "a new client-credentials token revokes the client's older ones" },
  { flag: 'token-latency', arg: 'ms', key: 'tokenLatencyMs', parse: delayMs, help: 'delay on /oauth/token' },
  { flag: 'api-latency', arg: 'ms', key: 'apiLatencyMs', parse: delayMs, help: 'delay on /api/v2 routes' },
  { flag: 'token-rate-limit', arg: 'n', key: 'tokenRateLimit', parse: count, help: '/oauth/token requests per window before 429 (0 = unlimited)' },
  { flag: 'token-rate-window', arg: 'ms', key: 'tokenRateWindowMs', parse: positiveMs, help: 'length of that window' },
  { flag: 'per-token-limit', arg: 'n', key: 'perTokenLimit', parse: count, help: 'API requests per token per window before 429 (Genesys: 300; 0 = unlimited)' },
  { flag: 'per-token-window', arg: 'ms', key: 'perTokenWindowMs', parse: positiveMs, help: 'length of that window (50 per 10000 keeps Genesys\'s 300/minute ratio)' },
  { flag: 'rate-limit-mode', arg: 'mode', key: 'rateLimitMode', parse: rateLimitMode, help: 'per-token: each token has that limit; per-client: all tokens of a client share it; per-org: all tokens share it; per-user: each user\'s tokens share it per client (client-credentials tokens: per token)' },
  { flag: 'window-kind', arg: 'kind', key: 'windowKind', parse: windowKind, help: 'fixed: the window opens at the first request; sliding: the last window-length before each request' },
  { flag: 'budget-headers', arg: 'kind', key: 'budgetHeaders', parse: budgetHeaders, help: 'budget headers on API answers: none (Genesys today), inin (Genesys before 2021), ietf (RateLimit, RateLimit-Policy), x-ratelimit (GitHub style)' },
  { flag: 'limit-in-429', key: 'limitIn429', parse: boolean, isSwitch: true, help: 'a 429 of that limit names it in its body: limit {key, namespace, value} (unconfirmed for Genesys)' },
  { flag: 'limits-namespace', arg: 'name', key: 'limitsNamespace', parse: text, help: 'namespace the Limits API serves the rate limits under (GET /api/v2/organizations/limits/namespaces/{name})' },
  { flag: 'limits-api-value', arg: 'n', key: 'limitsApiValue', parse: positiveCount, shownDefault: 'the per-token limit per minute, or 300', help: 'per-minute value the Limits API reports for the rate limits' },
  { flag: 'limits-api-forbidden', key: 'limitsApiForbidden', parse: boolean, isSwitch: true, help: 'the Limits API answers 403 missing.permissions' },
  { flag: 'fail-token-every', arg: 'n', key: 'failTokenEvery', parse: count, help: 'every Nth token request fails (0 = never)' },
  { flag: 'fail-token-status', arg: 'status', key: 'failTokenStatus', parse: errorStatus, help: 'status of injected token failures' },
  { flag: 'fail-token-window', arg: 'startMs-endMs', key: 'failTokenWindow', parse: timeWindow, help: 'token endpoint fails during this span after start' },
  { flag: 'fail-api-every', arg: 'n', key: 'failApiEvery', parse: count, help: 'every Nth API request fails (0 = never)' },
  { flag: 'fail-api-status', arg: 'status', key: 'failApiStatus', parse: errorStatus, help: 'status of injected API failures' },
  { flag: 'fail-api-window', arg: 'startMs-endMs', key: 'failApiWindow', parse: timeWindow, help: 'API routes fail during this span after start' },
  { flag: 'rotate-refresh-tokens', key: 'rotateRefreshTokens', parse: boolean, isSwitch: true, help: 'refresh tokens are single use; reuse gets invalid_grant' },
  { flag: 'refresh-token', arg: 'token', key: 'refreshTokenSeed', parse: text, help: 'a refresh token accepted from the start' },
  { flag: 'users', arg: 'name:pw,...', key: 'users', parse: users, shownDefault: DEFAULT_USERS_SPEC, help: 'who may log in at /oauth/authorize (name:password[:Display Name]); /api/v2/users/me answers with the token\'s user' },
  { flag: 'redirect-uris', arg: 'uri,...', key: 'redirectUris', parse: redirectUris, shownDefault: mockDefaults.redirectUris.join(','), help: 'redirect URIs registered for the client (exact match)' },
  { flag: 'public-client-refresh-tokens', key: 'publicClientRefreshTokens', parse: boolean, isSwitch: true, help: 'the code exchange of a public PKCE client (no secret) returns a refresh token (unconfirmed for Genesys)' },
  { flag: 'host', arg: 'address', key: 'host', parse: text, help: 'bind address' },
  { flag: 'port', arg: 'port', key: 'port', parse: port, help: 'port (0 = any free port)' },
];

const KNOBS_BY_FLAG = new Map(KNOBS.map((knob) => [knob.flag, knob]));

function envName(knob: Knob): string {
  return `MOCK_${knob.flag.toUpperCase().replaceAll('-', '_')}`;
}

function defaultOf(knob: Knob): unknown {
  if (knob.key === 'host') return defaultMockHost;
  if (knob.key === 'port') return defaultMockPort;
  return mockDefaults[knob.key];
}

/** Splits argv into raw flag values; unknown flags, positionals and missing values become problems. */
function readArgv(argv: string[], problems: string[]): Map<Knob, string> {
  const raw = new Map<Knob, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--(no-)?([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    const knob = match ? KNOBS_BY_FLAG.get(match[2]!) : undefined;
    if (!match || !knob || (match[1] && !knob.isSwitch)) {
      problems.push(`${arg}: unknown ${arg.startsWith('-') ? 'option' : 'argument'} (see --help)`);
      continue;
    }
    const [, negated, , inline] = match;
    if (negated) {
      if (inline !== undefined) problems.push(`${arg}: --no-${knob.flag} takes no value`);
      else raw.set(knob, 'false');
    } else if (inline !== undefined) {
      raw.set(knob, inline);
    } else if (knob.isSwitch) {
      raw.set(knob, 'true');
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      raw.set(knob, argv[++i]!);
    } else {
      problems.push(`--${knob.flag}: needs a value`);
    }
  }
  return raw;
}

/**
 * Reads the mock's settings from argv (flags) and env (`MOCK_*`). Throws MockUsageError listing every
 * problem at once. `--help` is not handled here: runMock checks for it before parsing.
 */
export function parseMockArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): { options: MockOptions; host: string; port: number } {
  const problems: string[] = [];
  const fromArgv = readArgv(argv, problems);
  const values: Record<string, unknown> = {};
  for (const knob of KNOBS) {
    const flagValue = fromArgv.get(knob);
    const envValue = env[envName(knob)];
    const [source, raw] = flagValue !== undefined ? [`--${knob.flag}`, flagValue] : [envName(knob), envValue];
    if (raw === undefined) {
      values[knob.key] = defaultOf(knob);
      continue;
    }
    const parsed = knob.parse(raw);
    if ('rule' in parsed) problems.push(`${source}: must be ${parsed.rule}, got ${JSON.stringify(raw)}`);
    else values[knob.key] = parsed.value;
  }
  if (problems.length > 0) throw new MockUsageError(problems);
  const { host, port: listenPort, ...options } = values;
  return { options: Object.freeze(options) as unknown as MockOptions, host: host as string, port: listenPort as number };
}

/** Usage text listing every knob with its env name and default. */
export function mockHelp(): string {
  const rows = KNOBS.map((knob) => {
    const usage = knob.isSwitch ? `--[no-]${knob.flag}` : `--${knob.flag} <${knob.arg}>`;
    const fallback = defaultOf(knob);
    const shown = knob.shownDefault !== undefined ? knob.shownDefault : fallback === null ? 'off' : typeof fallback === 'string' ? fallback : String(fallback);
    return [usage, envName(knob), `${knob.help} (default: ${shown})`] as const;
  });
  const usageWidth = Math.max(...rows.map(([usage]) => usage.length));
  const envWidth = Math.max(...rows.map(([, env]) => env.length));
  return [
    'Usage: token-sidecar mock [options]',
    '',
    'Runs a Genesys-compatible rehearsal upstream: POST /oauth/token, the login page GET/POST',
    '/oauth/authorize, /api/v2/* (users/me, tokens/me, organizations/limits/namespaces/{name}, echo/*),',
    'counters at GET /__stats, POST /__reset.',
    'A flag wins over its env variable.',
    '',
    ...rows.map(([usage, env, help]) => `  ${usage.padEnd(usageWidth)}  ${env.padEnd(envWidth)}  ${help}`),
    `  ${'--help'.padEnd(usageWidth)}  ${''.padEnd(envWidth)}  this text`,
  ].join('\n');
}
