import { dirname, resolve } from 'node:path';
import { readDocument, readKeyFile, readSecretFile } from './files.js';
import { REPORTED, type Credential, type Io } from './io.js';
import type { Parsed } from './parsers.js';
import { GROUP_KEYS, type GroupDraft } from './groups.js';
import type { PoolSettings, ProfileDraft, ProviderFields } from './profiles.js';
import type { CredentialFiles } from './rotating-secrets.js';
import {
  GRANT_OPTION_NAMES,
  SETTINGS,
  settingLabel,
  shownValue,
  type GrantOptions,
  type SettingDefinition,
} from './settings.js';

/**
 * The --config profiles file's fields: `{ defaultProfile?, profiles: { <name>: {...} } }` turned
 * into profile drafts, and group drafts for the profiles that name `members` (groups.ts), each field
 * checked by the flat setting's own rule, so a profile field and its flag accept the same values. Problems name the file and the path in it. Merging a draft with the
 * flat settings is profiles.ts's; reading the file and the files it names is files.ts's.
 */

export interface ProfilesFile {
  readonly path: string;
  readonly defaultProfile?: string;
  readonly drafts: readonly ProfileDraft[];
  /** The profiles that name `members` (groups.ts), apart: they are completed from their members. */
  readonly groups: readonly GroupDraft[];
}

const PROFILE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const FILE_KEYS = ['defaultProfile', 'profiles'];
const PROFILE_KEYS = [
  'grant', 'clientId', 'clientSecret', 'clientSecretFile', 'refreshToken', 'refreshTokenFile',
  'region', 'upstream', 'tokenUrl', 'poolSize', 'poolMax', 'rateLimitPerToken', 'rateLimitWindowS', 'provider', 'rateLimitPolicy', 'rateLimitMaxWaitMs',
  'tokenAuth', 'privateKeyFile', 'keyId', 'certFile', 'scope', 'audience', 'resource', 'tokenParams', 'tokenDefaultLifetimeS',
  'injectHeader', 'injectPrefix',
  // A grant's own settings, named like the settings (settings.ts `forGrant`).
  ...GRANT_OPTION_NAMES,
  // A group of other profiles (groups.ts): then only GROUP_KEYS.
  'members',
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ defaultProfile?, profiles: { <name>: {...} } }`; problems name the file and the path in it. */
export function readProfilesFile(path: string, io: Io, purpose: 'serve' | 'login' = 'serve'): ProfilesFile | undefined {
  const document = readDocument(path, settingLabel('config'), io);
  if (document === undefined) return undefined;
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
  const entries = Object.entries(profiles);
  const isGroup = ([, fields]: [string, unknown]) => isRecord(fields) && fields.members !== undefined;
  return {
    path,
    ...(typeof defaultProfile === 'string' && { defaultProfile }),
    drafts: entries.filter((entry) => !isGroup(entry)).flatMap(([name, fields]) => fileDraft(path, name, fields, io, purpose) ?? []),
    groups: entries.filter(isGroup).map(([name, fields]) => groupDraft(path, name, fields as Record<string, unknown>, io)),
  };
}

/**
 * A profile that names `members`: the list as given (which names exist and fit is groups.ts's, once
 * every profile is read) and the few settings of its own, each by the flat setting's own rule.
 */
function groupDraft(path: string, name: string, fields: Record<string, unknown>, io: Io): GroupDraft {
  const where = (field?: string) => `${path}: profiles.${name}${field === undefined ? '' : `.${field}`}`;
  if (!PROFILE_NAME.test(name)) io.report(`${where()}: the name must be 1 to 64 of A-Z a-z 0-9 _ . -`);
  for (const key of Object.keys(fields).filter((key) => !GROUP_KEYS.includes(key))) {
    io.report(PROFILE_KEYS.includes(key)
      ? `${where(key)}: not a field of a group (one with members): its client, URLs and credentials are its members', its pool one token per member; a group may have ${GROUP_KEYS.join(', ')}`
      : `${where(key)}: unknown key (a group may have ${GROUP_KEYS.join(', ')})`);
  }
  const listed = fields.members;
  let members: string[] = [];
  if (!Array.isArray(listed) || !listed.every((member) => typeof member === 'string' && member.trim() !== '')) {
    io.report(`${where('members')}: must be a list of profile names, e.g. [alice, bob, carol]`);
  } else if (listed.length === 0) {
    io.report(`${where('members')}: must name at least one profile`);
  } else {
    members = listed.map((member: string) => member.trim());
  }
  const parsed = fieldParser(fields, where, io);
  const pool = withoutUndefined({
    rateLimitPerToken: parsed('rateLimitPerToken', SETTINGS.rateLimitPerToken.parse),
    rateLimitWindowS: parsed('rateLimitWindowS', SETTINGS.rateLimitWindowS.parse),
    provider: parsed('provider', SETTINGS.provider.parse),
    rateLimitPolicy: parsed('rateLimitPolicy', SETTINGS.rateLimitPolicy.parse),
    rateLimitMaxWaitMs: parsed('rateLimitMaxWaitMs', SETTINGS.rateLimitMaxWaitMs.parse),
  }) as Partial<PoolSettings>;
  return { name, members, where: where('members'), pool };
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
  const parsed = fieldParser(fields, where, io);
  /** The secret files read: the profile follows them when they change (rotating-secrets.ts). */
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
    rateLimitWindowS: parsed('rateLimitWindowS', SETTINGS.rateLimitWindowS.parse),
    provider: parsed('provider', SETTINGS.provider.parse),
    rateLimitPolicy: parsed('rateLimitPolicy', SETTINGS.rateLimitPolicy.parse),
    rateLimitMaxWaitMs: parsed('rateLimitMaxWaitMs', SETTINGS.rateLimitMaxWaitMs.parse),
  };
  const grantOptions = Object.fromEntries(GRANT_OPTION_NAMES.flatMap((option) => {
    const value = parsed(option, (SETTINGS[option] as SettingDefinition<unknown>).parse);
    return value === undefined ? [] : [[option, value]];
  })) as GrantOptions;
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
      grantOption: (option) => where(option),
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
    grantOptions,
    ...(grant !== undefined && { grant }),
    ...(region !== undefined && { region }),
    ...(upstreamUrl !== undefined && { upstreamUrl }),
    ...(tokenUrl !== undefined && { tokenUrl }),
    ...(Object.keys(givenPool).length > 0 && { pool: givenPool }),
  };
}

/** Reads a field by the flat setting's own rule, so a profile field and its flag accept the same values. */
function fieldParser(fields: Record<string, unknown>, where: (field?: string) => string, io: Io): FieldReader['parsed'] {
  return <T>(field: string, parse: (text: string) => Parsed<T>, value = fields[field]): T | undefined => {
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
}

/** How fileDraft reads one field: the problem location and the setting's own rule. */
interface FieldReader {
  readonly where: (field?: string) => string;
  readonly parsed: <T>(field: string, parse: (text: string) => Parsed<T>, value?: unknown) => T | undefined;
}

/** The provider fields a profiles-file profile gives; the ones it leaves out are absent. */
function providerFields(fields: Record<string, unknown>, { where, parsed }: FieldReader, io: Io): Partial<ProviderFields> {
  /** A list field may be written as the setting's text or as a YAML/JSON list. */
  const listed = <T>(field: string, separator: string, parse: (text: string) => Parsed<T>): T | undefined => {
    const value = fields[field];
    if (!Array.isArray(value)) return parsed(field, parse);
    if (!value.every((entry) => typeof entry === 'string')) {
      io.report(`${where(field)}: must be a string or a list of strings`);
      return undefined;
    }
    return parsed(field, parse, value.join(separator));
  };
  /** `a=1&b=2`, or a map of names to values. */
  const params = (): ProviderFields['tokenParams'] => {
    const value = fields.tokenParams;
    if (!isRecord(value)) return parsed('tokenParams', SETTINGS.tokenParams.parse);
    if (!Object.values(value).every((v) => typeof v === 'string' || typeof v === 'number')) {
      io.report(`${where('tokenParams')}: must be a=1&b=2 or a map of names to string values`);
      return undefined;
    }
    const text = new URLSearchParams(Object.entries(value).map(([k, v]) => [k, String(v)])).toString();
    return parsed('tokenParams', SETTINGS.tokenParams.parse, text);
  };
  /** Verbatim, like INJECT_PREFIX: an empty string is a value (no prefix). */
  const prefix = (): string | undefined => {
    const value = fields.injectPrefix;
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      io.report(`${where('injectPrefix')}: must be a string`);
      return undefined;
    }
    const result = SETTINGS.injectPrefix.parse(value);
    if (result.ok) return result.value;
    io.report(`${where('injectPrefix')}: ${result.rule}, got ${shownValue(value, false)}`);
    return undefined;
  };

  return withoutUndefined({
    tokenAuth: parsed('tokenAuth', SETTINGS.tokenAuth.parse),
    scope: listed('scope', ' ', SETTINGS.scope.parse),
    audience: parsed('audience', SETTINGS.audience.parse),
    resources: listed('resource', ',', SETTINGS.resource.parse),
    tokenParams: params(),
    defaultLifetimeS: parsed('tokenDefaultLifetimeS', SETTINGS.tokenDefaultLifetime.parse),
    injectHeader: parsed('injectHeader', SETTINGS.injectHeader.parse),
    injectPrefix: prefix(),
  });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
