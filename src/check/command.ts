import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { ConfigError, loadConfig } from '../config/load.js';
import { REGIONS } from '../config/regions.js';
import type { ProfileConfig } from '../config/types.js';
import { requestToken, TokenEndpointError } from '../token/endpoint.js';
import { createGrant, grantEntry, type RefreshTokenStore } from '../token/grants/index.js';

/** The grants `check` runs keep no refresh token (one-chain grants are skipped): nothing is ever stored. */
const NO_REFRESH_TOKENS: RefreshTokenStore = {
  getRefreshToken: async () => null,
  putRefreshToken: async () => false,
};

/**
 * `token-sidecar check`: a preflight for a person's first run and for CI. With the same settings as
 * `serve` (flags, env, profiles file), for each profile: fetch one token, then call one cheap
 * endpoint with it and print who the token is and what it may do. Never prints a token or secret.
 *
 * The endpoint: `--check-path PATH` when given; otherwise `/api/v2/tokens/me` when the upstream is a
 * Genesys Cloud API host (docs/genesys.md §2, §3: it needs no permission and answers with the
 * organization, the OAuth client and the scopes); otherwise the token alone is checked.
 *
 * A refresh_token profile is skipped: its refresh token may be single use, and a check would spend it.
 *
 * Exit codes: 0 every profile checked out, 1 a token or the endpoint failed, 2 bad settings.
 */
export interface CheckIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CheckIo = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };

const GENESYS_CHECK_PATH = '/api/v2/tokens/me';
const GENESYS_API_BASES = new Set(REGIONS.map((region) => region.apiBase));

export function checkHelp(): string {
  return [
    'token-sidecar check [settings] [--check-path PATH]',
    '',
    'Fetches one token per profile with the settings `serve` would use (see token-sidecar --help), calls',
    `one cheap endpoint with it and prints who the token is and what it may do; never the token.`,
    `  --check-path PATH   the endpoint to call (GET); default ${GENESYS_CHECK_PATH} for a Genesys Cloud upstream,`,
    '                      none otherwise (the token alone is checked)',
    '',
    'Exit codes: 0 ok, 1 a token request or the endpoint failed, 2 bad settings.',
    '',
  ].join('\n');
}

/** Splits `--check-path` (and `--check-path=`) out of argv; the rest are serve settings. */
function takeCheckPath(argv: string[]): { rest: string[]; checkPath?: string; problem?: string } {
  const rest: string[] = [];
  let checkPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--check-path' || arg.startsWith('--check-path=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (value === undefined || !value.startsWith('/')) return { rest, problem: '--check-path: must be a path starting with /' };
      checkPath = value;
    } else {
      rest.push(arg);
    }
  }
  return { rest, ...(checkPath !== undefined && { checkPath }) };
}

export async function runCheck(argv: string[], env: Record<string, string | undefined>, io: CheckIo = processIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(checkHelp());
    return 0;
  }
  const { rest, checkPath, problem } = takeCheckPath(argv);
  let config;
  const problems = problem === undefined ? [] : [problem];
  try {
    config = loadConfig(rest, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0 || config === undefined) {
    io.stderr(`token-sidecar check: invalid settings (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`);
    for (const line of problems) io.stderr(`  - ${line}\n`);
    io.stderr('See token-sidecar check --help.\n');
    return 2;
  }
  const dispatcher = new Agent({ connections: 2 });
  try {
    let failed = 0;
    for (const profile of config.profiles) {
      if (!(await checkProfile(profile, checkPath, config.tokenTimeoutMs, dispatcher, io))) failed++;
    }
    io.stdout(failed === 0 ? 'check: ok\n' : `check: FAILED (${failed} of ${config.profiles.length} profile${config.profiles.length === 1 ? '' : 's'})\n`);
    return failed === 0 ? 0 : 1;
  } finally {
    await dispatcher.close();
  }
}

async function checkProfile(profile: ProfileConfig, checkPath: string | undefined, timeoutMs: number, dispatcher: Agent, io: CheckIo): Promise<boolean> {
  const say = (line: string) => io.stdout(`  ${line}\n`);
  if (profile.members !== undefined) {
    io.stdout(`profile "${profile.name}" (group of ${profile.members.join(', ')})\n`);
    say('skipped: a group has no token of its own; its members are checked as profiles of their own');
    return true;
  }
  io.stdout(`profile "${profile.name}" (client ${profile.clientId}, ${profile.grant})\n`);
  if (grantEntry(profile.grant).oneToken !== false) {
    say(`skipped: the ${profile.grant} grant's tokens form one chain (a refresh token may be single use), and a check would spend it`);
    return true;
  }
  const tokenStarted = performance.now();
  let accessToken: string;
  try {
    const grant = createGrant(profile, { store: NO_REFRESH_TOKENS, key: 'check' });
    const token = await requestToken({ ...profile, dispatcher }, await grant.request({ local: true }), timeoutMs);
    accessToken = token.accessToken;
    const lifetime = token.lifetimeAssumed ? `no expires_in, ${Math.round(token.expiresInMs / 1000)} s assumed` : `expires in ${Math.round(token.expiresInMs / 1000)} s`;
    say(`token: ok from ${profile.tokenUrl} in ${Math.round(performance.now() - tokenStarted)} ms (${lifetime})`);
  } catch (err) {
    const why = err instanceof TokenEndpointError ? err.summary : (err as Error).message;
    say(`token: FAILED from ${profile.tokenUrl}: ${why}`);
    return false;
  }
  const path = checkPath ?? (GENESYS_API_BASES.has(profile.upstreamUrl) ? GENESYS_CHECK_PATH : undefined);
  if (path === undefined) {
    say('endpoint: none called (not a Genesys Cloud upstream; give --check-path to call one)');
    return true;
  }
  const url = `${profile.upstreamUrl}${path}`;
  const started = performance.now();
  try {
    const response = await request(url, {
      dispatcher,
      headers: { [profile.injectHeader]: `${profile.injectPrefix}${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    const ms = Math.round(performance.now() - started);
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    say(`GET ${url}: ${response.statusCode} in ${ms} ms${ok ? '' : ` (${describeError(text)})`}`);
    if (ok) for (const line of describeAnswer(text)) say(line);
    return ok;
  } catch (err) {
    say(`GET ${url}: FAILED: ${(err as Error).message}`);
    return false;
  }
}

/** Who and what, from a TokenInfo answer (docs/genesys.md §2); nothing for any other body. */
function describeAnswer(text: string): string[] {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return [];
  }
  const named = (value: unknown) => {
    const { name, id } = (value ?? {}) as { name?: unknown; id?: unknown };
    return typeof name === 'string' || typeof id === 'string' ? `${String(name ?? '?')} (${String(id ?? '?')})` : undefined;
  };
  const lines: string[] = [];
  const organization = named(body.organization);
  if (organization) lines.push(`organization: ${organization}`);
  const client = named(body.OAuthClient);
  if (client) lines.push(`OAuth client: ${client}`);
  if (Array.isArray(body.authorizedScope)) lines.push(`scopes: ${body.authorizedScope.length === 0 ? 'none (a client-credentials client gets its permissions from roles)' : body.authorizedScope.join(' ')}`);
  return lines;
}

/** The error's own code and message when the body is a Genesys error (docs/genesys.md §6), else its length. */
function describeError(text: string): string {
  try {
    const { code, message } = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof code === 'string' || typeof message === 'string') return [code, message].filter((v) => typeof v === 'string').join(': ');
  } catch {
    // not JSON
  }
  return `${text.length} bytes`;
}
