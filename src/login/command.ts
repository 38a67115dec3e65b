import pino from 'pino';
import { ConfigError, loadConfig } from '../config/load.js';
import { settingLabel } from '../config/settings.js';
import type { Config, ProfileConfig } from '../config/types.js';
import { createLogger, type Logger } from '../logging.js';
import { systemClock, type Clock } from '../token/clock.js';
import { grantEntry } from '../token/grants/index.js';
import { authorizationEndpoint, authorizationUrl } from './authorize-url.js';
import { startCallbackServer, type ReceivedCode } from './callback-server.js';
import { storeLogin, writeRefreshTokenFile } from './destinations.js';
import { exchangeCode, whoLoggedIn } from './exchange.js';
import { loginHelp } from './help.js';
import { LoginError } from './login-error.js';
import { openBrowser } from './open-browser.js';
import { parseLoginArgs, type LoginOptions } from './options.js';
import { createPkce, createState } from './pkce.js';

/**
 * `token-sidecar login`: one user through the authorization-code grant with PKCE, the refresh token
 * into a file and/or the shared store, then who logged in. Exit codes: 0 done, 1 the login failed
 * (denied, state mismatch, timeout, OAuth error, no refresh token, file/store not writable), 2 bad
 * settings. stdout: the authorization URL (first line), then the result; stderr: progress, problems
 * and log lines. No token, code or code verifier is ever written to either.
 */
export interface LoginIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly clock: Clock;
  readonly openBrowser: (url: string) => void;
}

const processIo: LoginIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  clock: systemClock,
  openBrowser,
};

interface Plan {
  readonly config: Config;
  readonly profile: ProfileConfig;
  readonly authorizeEndpoint: string;
  readonly options: LoginOptions;
}

export async function runLogin(argv: string[], env: Record<string, string | undefined>, io: LoginIo = processIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(loginHelp());
    return 0;
  }
  const plan = planLogin(argv, env);
  if ('problems' in plan) {
    const { problems } = plan;
    io.stderr(`token-sidecar: invalid login settings (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`);
    for (const problem of problems) io.stderr(`  - ${problem}\n`);
    io.stderr('See token-sidecar login --help.\n');
    return 2;
  }
  const log = createLogger({ level: plan.config.logLevel, format: plan.config.logFormat, destination: pino.destination({ fd: 2, sync: true }) });
  try {
    await login(plan, io, log);
    return 0;
  } catch (err) {
    if (!(err instanceof LoginError)) throw err;
    io.stderr(`token-sidecar login: ${err.message}\n`);
    return 1;
  }
}

/** Every settings problem at once, or what the login will do. */
function planLogin(argv: string[], env: Record<string, string | undefined>): Plan | { problems: string[] } {
  const { options, rest, problems } = parseLoginArgs(argv);
  let config: Config | undefined;
  try {
    config = loadConfig(rest, env, undefined, { purpose: 'login' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (config === undefined) return { problems };

  const name = options.profile ?? config.defaultProfile;
  const profile = config.profiles.find((candidate) => candidate.name === name);
  if (profile === undefined) {
    problems.push(`--profile: no profile named ${JSON.stringify(name)} (profiles: ${config.profiles.map((p) => p.name).join(', ')})`);
  } else if (profile.members !== undefined) {
    // A group has no refresh token of its own: each member is one user, with its own login.
    problems.push(`--profile: ${JSON.stringify(name)} is a group of ${profile.members.join(', ')}; log each member in with --profile <member>`);
  }
  const toStore = config.redis !== undefined;
  if (!toStore && options.out === undefined) {
    problems.push(`nowhere to put the refresh token: give --out FILE and/or ${settingLabel('redis')}`);
  }
  if (toStore && profile && !grantEntry(profile.grant).reads.includes('refreshToken')) {
    // The sidecars of a profile whose grant reads no refresh token would never use it, and would adopt
    // the user's access token from the store in place of their client's: refuse rather than surprise.
    problems.push(`${settingLabel('grant')}: profile ${JSON.stringify(profile.name)} uses ${profile.grant}; ` +
      'login stores a refresh token only for a refresh_token profile (set the grant, or use --out alone)');
  }
  const authorizeEndpoint = profile && authorizationEndpoint(profile.tokenUrl, config.login.authorizeUrl);
  if (profile && authorizeEndpoint === undefined) {
    problems.push(`${settingLabel('authorizeUrl')}: required, since the token URL does not end in /token`);
  }
  if (problems.length > 0 || profile === undefined || authorizeEndpoint === undefined) return { problems };
  return { config, profile, authorizeEndpoint, options };
}

async function login(plan: Plan, io: LoginIo, log: Logger): Promise<void> {
  const { config, profile, options } = plan;
  const pkce = createPkce();
  const state = createState();
  const callback = await startCallbackServer(config.login.port, io.clock);
  let received: ReceivedCode | undefined;
  try {
    const url = authorizationUrl({ endpoint: plan.authorizeEndpoint, clientId: profile.clientId, redirectUri: callback.redirectUri, state, codeChallenge: pkce.challenge });
    io.stdout(`${url}\n`);
    if (options.openBrowser) io.openBrowser(url);
    io.stderr(`${options.openBrowser ? 'Opening a browser; if none appears, open' : 'Open'} the URL above and log in ` +
      `(profile "${profile.name}"). Waiting up to ${options.timeoutMs / 1000} s for ${callback.redirectUri} ...\n`);
    log.debug({ profile: profile.name, redirectUri: callback.redirectUri, publicClient: profile.clientSecret === '' }, 'login: waiting for the callback');

    received = await callback.waitForCode(state, options.timeoutMs);
    log.debug({ profile: profile.name }, 'login: callback received; exchanging the code');
    const issuedAt = io.clock.now();
    const tokens = await exchangeCode(profile, received.code, callback.redirectUri, pkce.verifier, config.tokenTimeoutMs);
    log.debug({ profile: profile.name, expiresInMs: tokens.expiresInMs, gotRefreshToken: tokens.refreshToken !== undefined }, 'login: code exchanged');
    const who = await whoLoggedIn(profile.upstreamUrl, tokens.accessToken, config.tokenTimeoutMs);
    const whoText = who.ok ? `${who.name} (id ${who.id})` : `an unknown user (${who.problem})`;

    const { refreshToken } = tokens;
    if (refreshToken === undefined) {
      const hint = profile.clientSecret === ''
        ? 'A public client (no secret) may get none: use an OAuth client of the grant type "Code Authorization" with its secret.'
        : 'Check that the OAuth client\'s grant type is "Code Authorization".';
      throw new LoginError(`logged in as ${whoText}, but the token endpoint returned no refresh token, so the sidecar's ` +
        `refresh_token grant cannot start from this login. ${hint} Nothing was written.`);
    }
    const written: string[] = [];
    if (options.out !== undefined) {
      await writeRefreshTokenFile(options.out, refreshToken);
      written.push(`written to ${options.out} (mode 0600; OAUTH_REFRESH_TOKEN_FILE)`);
    }
    if (config.redis !== undefined) {
      const generation = await storeLogin(config, profile, { ...tokens, refreshToken }, issuedAt, log).catch((err: unknown) => {
        if (err instanceof LoginError && written.length > 0) throw new LoginError(`${err.message} (the refresh token was ${written.join('; ')})`);
        throw err;
      });
      written.push(`stored in the shared store as generation ${generation}: running sidecars of this profile use it now`);
    }
    received.answerBrowser(true, `Logged in as ${who.ok ? who.name : 'an unknown user'}.`);
    io.stdout(`Logged in as ${whoText} for profile "${profile.name}".\n`);
    io.stdout(`Refresh token ${written.join('; ')}.\n`);
    if (!who.ok) io.stderr(`warning: could not tell who logged in: ${who.problem}\n`);
  } catch (err) {
    if (err instanceof LoginError) received?.answerBrowser(false, err.message);
    throw err;
  } finally {
    await callback.close();
  }
}
