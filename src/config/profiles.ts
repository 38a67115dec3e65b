import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { describeReadError, REPORTED, type Credential, type Io } from './io.js';
import { clientCredential, providerFields, readKeyFile, readParsed, type KeyCredential, type ProviderFields } from './profile-provider.js';
import { followCredentialFiles, secretText, type CredentialFiles } from './rotating-secrets.js';
import type { Region } from './regions.js';
import { SETTINGS, settingLabel, shownValue, type Parsed, type PoolSizeSetting, type RateLimitPolicy } from './settings.js';
import type { Grant, ProfileConfig } from './types.js';

/**
 * Credential profiles: what a profile is made of, how the flat settings fill what it leaves out, and
 * the --config profiles file. load.ts builds the flat `default` profile; this file does the rest.
 */

export { REPORTED, type Credential, type Io, type ReadFile } from './io.js';
export { readKeyFile, type KeyCredential, type ProviderFields } from './profile-provider.js';

/** A profile as given, before the flat settings fill what it leaves out. */
export interface ProfileDraft {
  readonly name: string;
  /** How "required" problems name each credential of this profile. */
  readonly labels: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly refreshToken: string;
    readonly poolSize: string;
    readonly privateKey: string;
  };
  readonly clientId: Credential;
  readonly clientSecret: Credential;
  readonly refreshToken: Credential;
  readonly privateKey: KeyCredential;
  /** The credentials above that were read from files: they follow the files when replaced. */
  readonly files?: CredentialFiles;
  readonly provider: Partial<ProviderFields>;
  readonly grant?: Grant;
  readonly region?: Region;
  readonly upstreamUrl?: string;
  readonly tokenUrl?: string;
  readonly pool?: Partial<PoolSettings>;
}

/** The pool and rate-limit settings, as given (flat or per profile). */
export interface PoolSettings {
  readonly poolSize: PoolSizeSetting;
  readonly poolMax: number;
  readonly rateLimitPerToken?: number;
  readonly rateLimitPolicy: RateLimitPolicy;
  readonly rateLimitMaxWaitMs: number;
}

/** What a profile inherits from the flat settings. */
export interface ProfileDefaults extends ProviderFields {
  readonly grant: Grant;
  readonly region: Region;
  readonly upstreamUrl?: string;
  readonly tokenUrl?: string;
  readonly pool: PoolSettings;
}

/**
 * Fills a draft from the flat settings. The most specific URL wins: the profile's own URL, then its
 * region, then UPSTREAM_URL / TOKEN_URL, then GENESYSCLOUD_REGION.
 *
 * For `login` (purpose) the secret is optional (none: a public PKCE client, secret '') and the
 * refresh token is not required: login is what obtains it.
 */
export function completeProfile(draft: ProfileDraft, inherited: ProfileDefaults, io: Io, purpose: 'serve' | 'login' = 'serve'): ProfileConfig | undefined {
  const grant = draft.grant ?? inherited.grant;
  const required = (credential: Credential, where: string, rule = 'required'): string | undefined => {
    if (credential === undefined) io.report(`${where}: ${rule}`);
    return typeof credential === 'string' ? credential : undefined;
  };
  const clientId = required(draft.clientId, draft.labels.clientId);
  const provider: ProviderFields = { ...inherited, ...draft.provider };
  const forLogin = purpose === 'login';
  // login with no secret is a public (PKCE) client: an empty secret says so to the token endpoint client.
  const { clientSecret, privateKey } = forLogin && draft.clientSecret === undefined && provider.tokenAuth !== 'private_key_jwt'
    ? { clientSecret: '', privateKey: undefined }
    : clientCredential(draft, provider.tokenAuth, io);
  let refreshToken: string | undefined;
  // For login the drafts carry no refresh token (login obtains it), so neither branch applies.
  if (grant === 'refresh_token' && !forLogin) {
    refreshToken = required(draft.refreshToken, draft.labels.refreshToken, 'required by the refresh_token grant');
    if (refreshToken === undefined) return undefined;
  } else if (draft.refreshToken !== undefined) {
    // Most likely the grant was forgotten: requests would silently run without user context.
    io.report(`${draft.labels.refreshToken}: only used by the refresh_token grant, but the grant is ${grant}`);
  }
  const pool: PoolSettings = { ...inherited.pool, ...draft.pool };
  if (grant === 'refresh_token' && pool.poolSize !== 'auto' && pool.poolSize > 1) {
    // Each slot would need its own rotation chain, but there is one seed refresh token to start from.
    io.report(`${draft.labels.poolSize}: must be 1 with the refresh_token grant (one refresh token is one rotation chain), got ${pool.poolSize}`);
  }
  if (clientId === undefined || (clientSecret === undefined && privateKey === undefined)) return undefined;
  // With the refresh_token grant `auto` means one token, for the same reason.
  const poolAuto = pool.poolSize === 'auto' && grant !== 'refresh_token';
  return followCredentialFiles({
    name: draft.name,
    grant,
    clientId,
    ...(clientSecret !== undefined && { clientSecret }),
    ...(refreshToken !== undefined && { refreshToken }),
    upstreamUrl: draft.upstreamUrl ?? draft.region?.apiBase ?? inherited.upstreamUrl ?? inherited.region.apiBase,
    tokenUrl: draft.tokenUrl ?? draft.region?.tokenUrl ?? inherited.tokenUrl ?? inherited.region.tokenUrl,
    poolSize: pool.poolSize === 'auto' ? 1 : pool.poolSize,
    poolAuto,
    poolMax: pool.poolMax,
    ...(pool.rateLimitPerToken !== undefined && { rateLimitPerToken: pool.rateLimitPerToken }),
    rateLimitPolicy: pool.rateLimitPolicy,
    rateLimitMaxWaitMs: pool.rateLimitMaxWaitMs,
    tokenAuth: provider.tokenAuth,
    ...(privateKey !== undefined && { privateKey }),
    ...(provider.scope !== undefined && { scope: provider.scope }),
    ...(provider.audience !== undefined && { audience: provider.audience }),
    ...(provider.resources !== undefined && { resources: provider.resources }),
    ...(provider.tokenParams !== undefined && { tokenParams: provider.tokenParams }),
    defaultLifetimeS: provider.defaultLifetimeS,
    injectHeader: provider.injectHeader,
    injectPrefix: provider.injectPrefix,
  }, draft.files);
}

export interface ProfilesFile {
  readonly path: string;
  readonly defaultProfile?: string;
  readonly drafts: readonly ProfileDraft[];
}

const PROFILE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const FILE_KEYS = ['defaultProfile', 'profiles'];
const PROFILE_KEYS = [
  'grant', 'clientId', 'clientSecret', 'clientSecretFile', 'refreshToken', 'refreshTokenFile',
  'region', 'upstream', 'tokenUrl', 'poolSize', 'poolMax', 'rateLimitPerToken', 'rateLimitPolicy', 'rateLimitMaxWaitMs',
  'tokenAuth', 'privateKeyFile', 'keyId', 'certFile', 'scope', 'audience', 'resource', 'tokenParams', 'tokenDefaultLifetimeS',
  'injectHeader', 'injectPrefix',
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ defaultProfile?, profiles: { <name>: {...} } }`; problems name the file and the path in it. */
export function readProfilesFile(path: string, io: Io, purpose: 'serve' | 'login' = 'serve'): ProfilesFile | undefined {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (error) {
    io.report(`${settingLabel('config')}: cannot read ${JSON.stringify(path)} (${describeReadError(error)})`);
    return undefined;
  }
  const document = parseDocument(path, text);
  if (!document.ok) {
    io.report(`${settingLabel('config')}: ${JSON.stringify(path)} is ${document.rule}`);
    return undefined;
  }
  const root = document.value;
  if (!isRecord(root)) {
    io.report(`${path}: must be an object with a "profiles" map`);
    return undefined;
  }
  for (const key of Object.keys(root).filter((key) => !FILE_KEYS.includes(key))) {
    io.report(`${path}: ${key}: unknown key (expected ${FILE_KEYS.join(', ')})`);
  }
  const { defaultProfile, profiles } = root;
  if (defaultProfile !== undefined && typeof defaultProfile !== 'string') {
    io.report(`${path}: defaultProfile: must be a profile name`);
  }
  if (!isRecord(profiles) || Object.keys(profiles).length === 0) {
    io.report(`${path}: profiles: must map at least one profile name to its settings`);
    return undefined;
  }
  return {
    path,
    ...(typeof defaultProfile === 'string' && { defaultProfile }),
    drafts: Object.entries(profiles).flatMap(([name, fields]) => fileDraft(path, name, fields, io, purpose) ?? []),
  };
}

/** By extension; otherwise JSON, then YAML. Parser messages are not passed on: they quote the file. */
function parseDocument(path: string, text: string): Parsed<unknown> {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') return parseJson(text);
  if (extension === '.yaml' || extension === '.yml') return parseYamlDocument(text);
  const json = parseJson(text);
  return json.ok ? json : parseYamlDocument(text);
}

function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const position = /at position (\d+)/.exec(String(error))?.[1];
    if (position === undefined) return { ok: false, rule: 'not valid JSON' };
    const before = text.slice(0, Number(position)).split('\n');
    return { ok: false, rule: `not valid JSON (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})` };
  }
}

function parseYamlDocument(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: parseYaml(text) };
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const at = error.linePos?.[0];
    return { ok: false, rule: `not valid YAML (${error.code}${at ? ` at line ${at.line}, column ${at.col}` : ''})` };
  }
}

function fileDraft(path: string, name: string, fields: unknown, io: Io, purpose: 'serve' | 'login'): ProfileDraft | undefined {
  const where = (field?: string) => `${path}: profiles.${name}${field === undefined ? '' : `.${field}`}`;
  if (!PROFILE_NAME.test(name)) io.report(`${where()}: the name must be 1 to 64 of A-Z a-z 0-9 _ . -`);
  if (!isRecord(fields)) {
    io.report(`${where()}: must be an object`);
    return undefined;
  }
  for (const key of Object.keys(fields).filter((key) => !PROFILE_KEYS.includes(key))) {
    io.report(`${where(key)}: unknown key (expected ${PROFILE_KEYS.join(', ')})`);
  }

  const text = (field: string): Credential => {
    const value = fields[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      io.report(`${where(field)}: must be a string`);
      return REPORTED;
    }
    return value.trim() === '' ? undefined : value.trim();
  };
  /** Uses the flat setting's own rule, so a profile field and its flag accept the same values. */
  const parsed = <T>(field: string, parse: (text: string) => Parsed<T>, value = fields[field]): T | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') {
      io.report(`${where(field)}: must be a string or a number`);
      return undefined;
    }
    const given = String(value).trim();
    const result = parse(given);
    if (result.ok) return result.value;
    io.report(`${where(field)}: ${result.rule}, got ${shownValue(given, false)}`);
    return undefined;
  };
  const files: CredentialFiles = {};
  /** Relative secret files are found next to the profiles file, wherever the sidecar runs. */
  const secret = (direct: 'clientSecret' | 'refreshToken', fromFile: string): Credential => {
    const value = text(direct);
    const file = text(fromFile);
    if (value !== undefined && file !== undefined) {
      io.report(`${where()}: give ${direct} or ${fromFile}, not both`);
      return REPORTED;
    }
    if (typeof file === 'string') {
      files[direct] = { path: resolve(dirname(path), file), where: where(fromFile) };
      return readSecretFile(files[direct].path, where(fromFile), io);
    }
    return file ?? value;
  };

  const provider = providerFields(fields, { where, parsed }, io);
  const keyFile = text('privateKeyFile');
  /** Relative key and certificate files are found next to the profiles file. */
  const besideFile = (file: Credential): Credential => (typeof file === 'string' ? resolve(dirname(path), file) : file);
  const keyId = parsed('keyId', SETTINGS.keyId.parse);
  const grant = parsed('grant', SETTINGS.grant.parse);
  const region = parsed('region', SETTINGS.region.parse);
  const upstreamUrl = parsed('upstream', SETTINGS.upstream.parse);
  const tokenUrl = parsed('tokenUrl', SETTINGS.tokenUrl.parse);
  const pool = {
    poolSize: parsed('poolSize', SETTINGS.poolSize.parse),
    poolMax: parsed('poolMax', SETTINGS.poolMax.parse),
    rateLimitPerToken: parsed('rateLimitPerToken', SETTINGS.rateLimitPerToken.parse),
    rateLimitPolicy: parsed('rateLimitPolicy', SETTINGS.rateLimitPolicy.parse),
    rateLimitMaxWaitMs: parsed('rateLimitMaxWaitMs', SETTINGS.rateLimitMaxWaitMs.parse),
  };
  const givenPool = Object.fromEntries(Object.entries(pool).filter(([, value]) => value !== undefined)) as Partial<PoolSettings>;
  const keyPath = besideFile(keyFile);
  const certPath = besideFile(text('certFile'));
  if (typeof keyPath === 'string') {
    files.privateKey = { path: keyPath, where: where('privateKeyFile'), ...(keyId !== undefined && { keyId }), ...(typeof certPath === 'string' && { certPath }) };
  }
  return {
    name,
    labels: {
      clientId: where('clientId'),
      clientSecret: `${where('clientSecret')} (or clientSecretFile)`,
      refreshToken: `${where('refreshToken')} (or refreshTokenFile)`,
      poolSize: where('poolSize'),
      privateKey: where('privateKeyFile'),
    },
    clientId: text('clientId'),
    clientSecret: secret('clientSecret', 'clientSecretFile'),
    // login is what writes the refresh token file, so it need not exist yet, and login never reads it.
    refreshToken: purpose === 'login' ? undefined : secret('refreshToken', 'refreshTokenFile'),
    privateKey: readKeyFile({
      path: keyPath,
      keyId,
      certPath,
      where: { file: where('privateKeyFile'), keyId: where('keyId'), cert: where('certFile') },
    }, io),
    files,
    provider,
    ...(grant !== undefined && { grant }),
    ...(region !== undefined && { region }),
    ...(upstreamUrl !== undefined && { upstreamUrl }),
    ...(tokenUrl !== undefined && { tokenUrl }),
    ...(Object.keys(givenPool).length > 0 && { pool: givenPool }),
  };
}

/** Only the trailing newline(s) an editor or `echo` adds are removed; the secret is used as is. */
export function readSecretFile(path: string, where: string, io: Io): Credential {
  return readParsed(path, where, secretText, io);
}

