/**
 * The options of `token-sidecar login` that are not settings (settings.ts holds LOGIN_PORT,
 * OAUTH_AUTHORIZE_URL and everything the sidecar shares): which profile, whether to open a browser,
 * where to write the refresh token, how long to wait. What is not one of these is handed on to
 * loadConfig() untouched, so both report their problems together.
 */
export interface LoginOptions {
  /** Unset: the configuration's default profile. */
  readonly profile?: string;
  readonly openBrowser: boolean;
  /** File to write the refresh token to (mode 0600). */
  readonly out?: string;
  readonly timeoutMs: number;
}

export const DEFAULT_TIMEOUT_SECONDS = 300;
const MAX_TIMEOUT_SECONDS = 86_400;
const VALUED = new Set(['--profile', '--out', '--timeout']);

export function parseLoginArgs(argv: readonly string[]): { options: LoginOptions; rest: string[]; problems: string[] } {
  const rest: string[] = [];
  const problems: string[] = [];
  const given = new Map<string, string>();
  let openBrowser = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (flag === '--no-browser') {
      if (equals !== -1) problems.push('--no-browser: takes no value');
      openBrowser = false;
    } else if (VALUED.has(flag)) {
      const next = argv[i + 1];
      const value = equals !== -1 ? arg.slice(equals + 1) : next !== undefined && !next.startsWith('--') ? next : undefined;
      if (equals === -1 && value !== undefined) i++;
      if (value === undefined || value.trim() === '') problems.push(`${flag}: needs a value (${flag} value or ${flag}=value)`);
      else given.set(flag, value.trim());
    } else {
      rest.push(arg);
    }
  }
  let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  const timeout = given.get('--timeout');
  if (timeout !== undefined) {
    const seconds = /^\d+$/.test(timeout) ? Number(timeout) : NaN;
    if (seconds >= 1 && seconds <= MAX_TIMEOUT_SECONDS) timeoutSeconds = seconds;
    else problems.push(`--timeout: must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}, got ${JSON.stringify(timeout)}`);
  }
  const profile = given.get('--profile');
  const out = given.get('--out');
  return {
    options: { ...(profile !== undefined && { profile }), openBrowser, ...(out !== undefined && { out }), timeoutMs: timeoutSeconds * 1000 },
    rest,
    problems,
  };
}
