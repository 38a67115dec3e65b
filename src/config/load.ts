import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import {
  completeProfile,
  readKeyFile,
  readProfilesFile,
  readSecretFile,
  REPORTED,
  type Credential,
  type Io,
  type ProfileDefaults,
  type ProfileDraft,
  type ReadFile,
} from './profiles.js';
import {
  SETTINGS,
  settingLabel as label,
  shownValue,
  type DefaultedSetting,
  type SettingDefinition,
  type SettingName,
  type SettingValue,
} from './settings.js';
import { readRedisSettings } from './redis-settings.js';
import type { CredentialFiles } from './rotating-secrets.js';
import type { Config, ProfileConfig } from './types.js';

/**
 * Every configuration problem at once, one line each, naming the setting (env name and flag, or the
 * profiles file and the path in it) and the rule it breaks. No line ever carries a secret value.
 */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** What the configuration is for: `login` needs no client secret (a public client) and no refresh token yet. */
export interface LoadOptions {
  readonly purpose?: 'serve' | 'login';
}

/**
 * Builds the configuration from `argv` (the flags after the subcommand), `env` and the files they
 * name. A flag wins over env; an empty value counts as not set. Throws one ConfigError with every
 * problem; the result is deeply frozen.
 */
export function loadConfig(
  argv: string[],
  env: Record<string, string | undefined>,
  readFile: ReadFile = (path) => readFileSync(path, 'utf8'),
  options: LoadOptions = {},
): Readonly<Config> {
  const problems: string[] = [];
  const io: Io = { readFile, report: (problem) => problems.push(problem) };
  const settings = new SettingReader(parseArgv(argv, io), env, io);

  const { profiles, defaultProfile } = readProfiles(settings, io, options.purpose ?? 'serve');
  const redis = readRedisSettings(settings, io);
  const authorizeUrl = settings.value('authorizeUrl');
  const host = settings.value('host');
  const adminHost = settings.value('adminHost');
  const inboundApiKey = settings.value('inboundKey');
  const protectedMode = settings.value('protectedMode');
  if (protectedMode && inboundApiKey === undefined) {
    checkLoopback('host', host, io);
    if (adminHost !== undefined) checkLoopback('adminHost', adminHost, io);
  }

  // No profile at all implies a recorded problem (missing credentials or an unusable profiles file).
  if (problems.length > 0 || defaultProfile === undefined) throw new ConfigError(problems);
  return deepFreeze<Config>({
    profiles,
    defaultProfile,
    redisUrls: settings.value('redis') ?? [],
    ...(redis !== undefined && { redis }),
    redisKeyPrefix: settings.value('redisKeyPrefix'),
    host,
    port: settings.value('port'),
    adminHost: adminHost ?? host,
    adminPort: settings.value('adminPort'),
    refreshAt: settings.value('refreshAt'),
    workers: settings.value('workers'),
    ...(inboundApiKey !== undefined && { inboundApiKey }),
    protectedMode,
    logLevel: settings.value('logLevel'),
    logFormat: settings.value('logFormat'),
    upstreamTimeoutMs: settings.value('upstreamTimeoutMs'),
    upstreamConnections: settings.value('upstreamConnections'),
    tokenTimeoutMs: settings.value('tokenTimeoutMs'),
    lockGraceMs: settings.value('lockGraceMs'),
    replayBodyLimitBytes: settings.value('replayBodyLimit'),
    shutdownTimeoutMs: settings.value('shutdownTimeoutMs'),
    login: { port: settings.value('loginPort'), ...(authorizeUrl !== undefined && { authorizeUrl }) },
  });
}

const FLAT_PROFILE = 'default';
const CREDENTIAL_SETTINGS = ['clientId', 'clientSecret', 'clientSecretFile', 'refreshToken', 'refreshTokenFile', 'privateKeyFile', 'keyId', 'certFile'] as const;

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * The flat profile and the profiles file's. Without a file the flat credentials are the only profile,
 * so they are required; with one they add the profile `default` only when some are given.
 */
function readProfiles(settings: SettingReader, io: Io, purpose: 'serve' | 'login'): { profiles: ProfileConfig[]; defaultProfile?: string } {
  const rateLimitPerToken = settings.value('rateLimitPerToken');
  const inherited: ProfileDefaults = {
    grant: settings.value('grant'),
    region: settings.value('region'),
    upstreamUrl: settings.value('upstream'),
    tokenUrl: settings.value('tokenUrl'),
    tokenAuth: settings.value('tokenAuth'),
    ...optional('scope', settings.value('scope')),
    ...optional('audience', settings.value('audience')),
    ...optional('resources', settings.value('resource')),
    ...optional('tokenParams', settings.value('tokenParams')),
    defaultLifetimeS: settings.value('tokenDefaultLifetime'),
    injectHeader: settings.value('injectHeader'),
    injectPrefix: settings.value('injectPrefix'),
    pool: {
      poolSize: settings.value('poolSize'),
      poolMax: settings.value('poolMax'),
      ...(rateLimitPerToken !== undefined && { rateLimitPerToken }),
      rateLimitPolicy: settings.value('rateLimitPolicy'),
      rateLimitMaxWaitMs: settings.value('rateLimitMaxWaitMs'),
    },
  };
  const configPath = settings.value('config');
  const file = configPath === undefined ? undefined : readProfilesFile(configPath, io, purpose);
  const flatGiven = CREDENTIAL_SETTINGS.some((name) => settings.isSet(name));
  const drafts = [...(configPath === undefined || flatGiven ? [flatDraft(settings, io, purpose)] : []), ...(file?.drafts ?? [])];
  if (file && flatGiven && file.drafts.some((draft) => draft.name === FLAT_PROFILE)) {
    io.report(`${file.path}: profiles.${FLAT_PROFILE}: conflicts with the profile "${FLAT_PROFILE}" formed by ` +
      `${label('clientId')} and its secret; rename one`);
  }
  const profiles = drafts.flatMap((draft) => completeProfile(draft, inherited, io, purpose) ?? []);

  const requested = file?.defaultProfile;
  if (file && requested !== undefined && !drafts.some((draft) => draft.name === requested)) {
    io.report(`${file.path}: defaultProfile: no profile named ${JSON.stringify(requested)}`);
  }
  const fallback = drafts.some((draft) => draft.name === FLAT_PROFILE) ? FLAT_PROFILE : drafts[0]?.name;
  const defaultProfile = requested ?? fallback;
  return { profiles, ...(defaultProfile !== undefined && { defaultProfile }) };
}

const SETTING_BY_FLAG: ReadonlyMap<string, SettingName> = new Map(
  (Object.keys(SETTINGS) as SettingName[]).map((name) => [SETTINGS[name].flag, name]),
);

/** `--flag value` or `--flag=value`; the last occurrence of a flag wins. A value may not start with `--`. */
function parseArgv(argv: readonly string[], io: Io): Map<SettingName, string> {
  const given = new Map<SettingName, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-')) {
      // Not echoed: a stray word may be half of a secret that the shell split.
      io.report(`argument ${i + 1}: unexpected (settings are --flag value or --flag=value)`);
      continue;
    }
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const next = argv[i + 1];
    const value = equals !== -1 ? arg.slice(equals + 1) : next !== undefined && !next.startsWith('--') ? next : undefined;
    if (equals === -1 && value !== undefined) i++;
    const name = SETTING_BY_FLAG.get(flag);
    if (name === undefined) io.report(`${flag}: unknown flag (see --help)`);
    else if (value === undefined) io.report(`${label(name)}: needs a value (--flag value or --flag=value)`);
    else if (isVerbatim(name)) given.set(name, value);
    else if (value.trim() === '') given.delete(name);
    else given.set(name, value.trim());
  }
  return given;
}

type Origin = 'flag' | 'env';

function isVerbatim(name: SettingName): boolean {
  return (SETTINGS[name] as SettingDefinition<unknown>).verbatim === true;
}

/** Reads settings through their definitions, recording each problem. */
class SettingReader {
  private readonly values = new Map<SettingName, unknown>();
  private readonly fromEnv = new Map<SettingName, string>();
  private readonly filesRead = new Map<'clientSecret' | 'refreshToken', { path: string; where: string }>();

  constructor(
    private readonly flags: ReadonlyMap<SettingName, string>,
    env: Record<string, string | undefined>,
    private readonly io: Io,
  ) {
    for (const name of Object.keys(SETTINGS) as SettingName[]) {
      const text = readEnv(name, env, io);
      if (text !== undefined) this.fromEnv.set(name, text);
    }
    // Every setting is checked here, once, in table order, whether or not anything reads it later.
    for (const name of Object.keys(SETTINGS) as SettingName[]) this.values.set(name, this.parse(name));
  }

  isSet(name: SettingName): boolean {
    return this.raw(name) !== undefined;
  }

  value<N extends DefaultedSetting>(name: N): SettingValue<N>;
  value<N extends SettingName>(name: N): SettingValue<N> | undefined;
  value(name: SettingName): unknown {
    return this.values.get(name);
  }

  /**
   * A secret given directly or as a file (`*_FILE`). Both at the same level (both flags or both env) is
   * a problem; otherwise the usual precedence applies, so a flag of either kind beats env of either.
   */
  secret(direct: 'clientSecret' | 'refreshToken', fromFile: 'clientSecretFile' | 'refreshTokenFile'): Credential {
    const value = this.raw(direct);
    const file = this.raw(fromFile);
    if (value && file && value.origin === file.origin) {
      this.io.report(`${label(direct)} and ${label(fromFile)}: give one, not both`);
      return REPORTED;
    }
    if (file && (!value || file.origin === 'flag')) {
      this.filesRead.set(direct, { path: file.text, where: label(fromFile) });
      return readSecretFile(file.text, label(fromFile), this.io);
    }
    return value?.text;
  }

  /** The files `secret()` took credentials from (they follow the files when replaced). */
  credentialFiles(): CredentialFiles {
    return Object.fromEntries(this.filesRead);
  }

  /**
   * A rejected value is reported and the default used in its place, so the checks that depend on it
   * still run without reporting knock-on problems.
   */
  private parse(name: SettingName): unknown {
    const definition: SettingDefinition<unknown> = SETTINGS[name];
    const raw = this.raw(name);
    if (raw !== undefined) {
      const parsed = definition.parse(raw.text);
      if (parsed.ok) return parsed.value;
      this.io.report(`${label(name)}: ${parsed.rule}, got ${shownValue(raw.text, definition.secret)}`);
    }
    if (definition.default === undefined) return undefined;
    const fallback = definition.parse(definition.default);
    if (!fallback.ok) throw new Error(`the default of ${definition.env} breaks its own rule`);
    return fallback.value;
  }

  private raw(name: SettingName): { text: string; origin: Origin } | undefined {
    const flag = this.flags.get(name);
    if (flag !== undefined) return { text: flag, origin: 'flag' };
    const fromEnv = this.fromEnv.get(name);
    return fromEnv !== undefined ? { text: fromEnv, origin: 'env' } : undefined;
  }
}

/**
 * A setting's env text under its name or an alias (OAUTH_CLIENT_ID for GENESYSCLOUD_OAUTHCLIENT_ID).
 * Two names with different values is a problem: which one was meant cannot be guessed. A verbatim
 * setting is taken untrimmed, and set-but-empty is a value.
 */
function readEnv(name: SettingName, env: Record<string, string | undefined>, io: Io): string | undefined {
  const definition: SettingDefinition<unknown> = SETTINGS[name];
  const given = [definition.env, ...(definition.envAliases ?? [])].flatMap((envName) => {
    const raw = env[envName];
    if (raw === undefined) return [];
    const text = definition.verbatim ? raw : raw.trim();
    return definition.verbatim || text !== '' ? [{ envName, text }] : [];
  });
  if (new Set(given.map((g) => g.text)).size > 1) {
    io.report(`${given.map((g) => g.envName).join(' and ')}: name the same setting (${definition.flag}) with different values; give one`);
  }
  return given[0]?.text;
}

function flatDraft(settings: SettingReader, io: Io, purpose: 'serve' | 'login'): ProfileDraft {
  const clientSecret = settings.secret('clientSecret', 'clientSecretFile');
  // login is what writes the refresh token file, so it need not exist yet, and login never reads it.
  const refreshToken = purpose === 'login' ? undefined : settings.secret('refreshToken', 'refreshTokenFile');
  const keyPath = settings.value('privateKeyFile');
  const keyId = settings.value('keyId');
  const certPath = settings.value('certFile');
  const files: CredentialFiles = {
    ...settings.credentialFiles(),
    ...(keyPath !== undefined && {
      privateKey: { path: keyPath, where: label('privateKeyFile'), ...(keyId !== undefined && { keyId }), ...(certPath !== undefined && { certPath }) },
    }),
  };
  return {
    name: FLAT_PROFILE,
    labels: {
      clientId: label('clientId'),
      clientSecret: `${label('clientSecret')} or ${label('clientSecretFile')}`,
      refreshToken: `${label('refreshToken')} or ${label('refreshTokenFile')}`,
      poolSize: label('poolSize'),
      privateKey: label('privateKeyFile'),
    },
    clientId: settings.value('clientId'),
    clientSecret,
    refreshToken,
    privateKey: readKeyFile({
      path: keyPath,
      keyId,
      certPath,
      where: { file: label('privateKeyFile'), keyId: label('keyId'), cert: label('certFile') },
    }, io),
    files,
    // The flat provider settings reach every profile as inherited values (readProfiles).
    provider: {},
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Protected mode, like Redis's: a listener other hosts can reach must be guarded by INBOUND_API_KEY,
 * or the operator says PROTECTED_MODE=off. The admin listener exposes no secret, but its
 * POST /token/refresh lets whoever reaches it make the sidecar call the token endpoint, so an explicit
 * non-loopback ADMIN_HOST needs the key as well (the key then also guards admin POSTs). An unset
 * ADMIN_HOST follows HOST, whose own problem already covers it.
 */
function checkLoopback(name: 'host' | 'adminHost', host: string, io: Io): void {
  if (isLoopback(host)) return;
  io.report(`${label(name)}: ${JSON.stringify(host)} is not a loopback address, so ${label('inboundKey')} ` +
    `is required (or ${SETTINGS.protectedMode.env}=off)`);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
