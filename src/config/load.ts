import { readFileSync } from 'node:fs';
import { readKeyFile } from './files.js';
import { completeGroup } from './groups.js';
import type { Io, ReadFile } from './io.js';
import { completeProfile, type ProfileDefaults, type ProfileDraft } from './profiles.js';
import { readProfilesFile } from './profiles-file.js';
import { checkLoopback } from './protected-mode.js';
import { parseArgv, SettingReader } from './read-settings.js';
import { readRedisSettings } from './redis-settings.js';
import type { CredentialFiles } from './rotating-secrets.js';
import { GRANT_OPTION_NAMES, settingLabel as label, type GrantOptions } from './settings.js';
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
    serverTiming: settings.value('serverTiming'),
    ...optional('maxRequests', settings.value('maxRequests')),
    ...optional('testWindow', settings.value('testWindow')),
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
    grantOptions: flatGrantOptions(settings),
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
      rateLimitWindowS: settings.value('rateLimitWindowS'),
      provider: settings.value('provider'),
      rateLimitPolicy: settings.value('rateLimitPolicy'),
      rateLimitMaxWaitMs: settings.value('rateLimitMaxWaitMs'),
    },
  };
  const configPath = settings.value('config');
  const file = configPath === undefined ? undefined : readProfilesFile(configPath, io, purpose);
  const flatGiven = CREDENTIAL_SETTINGS.some((name) => settings.isSet(name));
  const drafts = [...(configPath === undefined || flatGiven ? [flatDraft(settings, io, purpose)] : []), ...(file?.drafts ?? [])];
  const groups = file?.groups ?? [];
  if (file && flatGiven && [...file.drafts, ...groups].some((draft) => draft.name === FLAT_PROFILE)) {
    io.report(`${file.path}: profiles.${FLAT_PROFILE}: conflicts with the profile "${FLAT_PROFILE}" formed by ` +
      `${label('clientId')} and its secret; rename one`);
  }
  const profiles = drafts.flatMap((draft) => completeProfile(draft, inherited, io, purpose) ?? []);
  // Groups last: their members must be complete profiles of the file (groups.ts).
  const context = {
    profileNames: new Set(file?.drafts.map((draft) => draft.name)),
    groupNames: new Set(groups.map((group) => group.name)),
    complete: new Map(profiles.filter((profile) => file?.drafts.some((draft) => draft.name === profile.name)).map((profile) => [profile.name, profile])),
  };
  profiles.push(...groups.flatMap((group) => completeGroup(group, context, inherited, io) ?? []));

  const requested = file?.defaultProfile;
  if (file && requested !== undefined && ![...drafts, ...groups].some((draft) => draft.name === requested)) {
    io.report(`${file.path}: defaultProfile: no profile named ${JSON.stringify(requested)}`);
  }
  const fallback = drafts.some((draft) => draft.name === FLAT_PROFILE) ? FLAT_PROFILE : drafts[0]?.name;
  const defaultProfile = requested ?? fallback;
  return { profiles, ...(defaultProfile !== undefined && { defaultProfile }) };
}

/** The flat values of the settings that belong to a grant. */
function flatGrantOptions(settings: SettingReader): GrantOptions {
  return Object.fromEntries(GRANT_OPTION_NAMES.flatMap((name) => {
    const value = settings.value(name);
    return value === undefined ? [] : [[name, value]];
  })) as GrantOptions;
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
      grantOption: label,
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
    // The flat grant options do too; the flat profile also counts them as its own, so that one its
    // grant does not use is a problem.
    grantOptions: flatGrantOptions(settings),
  };
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
