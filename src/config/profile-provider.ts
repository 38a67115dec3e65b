import { describeReadError, REPORTED, type Credential, type Io } from './io.js';
import type { ProfileDraft } from './profiles.js';
import { SETTINGS, shownValue, type Parsed } from './settings.js';
import { parseSigningKey, withCertificate } from './signing-key.js';
import type { ProfileConfig, SigningKey, TokenAuthMethod } from './types.js';

/**
 * The OAuth2 provider part of a profile: the token request and injection fields of a profiles-file
 * profile, the private_key_jwt key file, and which client credential the authentication method needs.
 */

/** The private_key_jwt key as read, like a Credential. */
export type KeyCredential = SigningKey | undefined | typeof REPORTED;

/** The token request and injection settings: a profile's own, else the flat ones. */
export type ProviderFields = Pick<
  ProfileConfig,
  'tokenAuth' | 'scope' | 'audience' | 'resources' | 'tokenParams' | 'defaultLifetimeS' | 'injectHeader' | 'injectPrefix'
>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How fileDraft (profiles.ts) reads one field: the problem location and the setting's own rule. */
export interface FieldReader {
  readonly where: (field?: string) => string;
  readonly parsed: <T>(field: string, parse: (text: string) => Parsed<T>, value?: unknown) => T | undefined;
}

/** The provider fields a profiles-file profile gives; the ones it leaves out are absent. */
export function providerFields(fields: Record<string, unknown>, { where, parsed }: FieldReader, io: Io): Partial<ProviderFields> {
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

/**
 * The secret for client_secret_basic/_post, and the key for private_key_jwt or for a grant that signs
 * with it (`keyGrant`): what is needed is required, and a credential nothing uses is a problem (it
 * would be silently ignored: most likely a forgotten OAUTH_TOKEN_AUTH or OAUTH_GRANT).
 */
export function clientCredential(
  draft: ProfileDraft,
  tokenAuth: TokenAuthMethod,
  keyGrant: string | undefined,
  io: Io,
): { clientSecret?: string; privateKey?: SigningKey } {
  const { labels } = draft;
  const privateKey = typeof draft.privateKey === 'object' ? { privateKey: draft.privateKey } : {};
  if (tokenAuth === 'private_key_jwt' || keyGrant !== undefined) {
    if (draft.privateKey === undefined) io.report(`${labels.privateKey}: required by ${tokenAuth === 'private_key_jwt' ? 'private_key_jwt' : `the ${keyGrant} grant`}`);
  } else if (draft.privateKey !== undefined && draft.privateKey !== REPORTED) {
    io.report(`${labels.privateKey}: only used by private_key_jwt, but the client authentication is ${tokenAuth}`);
  }
  if (tokenAuth === 'private_key_jwt') {
    if (typeof draft.clientSecret === 'string') {
      io.report(`${labels.clientSecret}: not used by private_key_jwt (the private key authenticates the client); remove it`);
    }
    return privateKey;
  }
  if (draft.clientSecret === undefined) io.report(`${labels.clientSecret}: required`);
  return { ...(typeof draft.clientSecret === 'string' && { clientSecret: draft.clientSecret }), ...(keyGrant !== undefined && privateKey) };
}

/** The key file, its key id and its certificate file as given, and how problems name each. */
export interface KeyFiles {
  readonly path: Credential;
  readonly keyId: string | undefined;
  readonly certPath: Credential;
  readonly where: { readonly file: string; readonly keyId: string; readonly cert: string };
}

/**
 * The private_key_jwt key (undefined: none given), with its certificate's thumbprints when a
 * certificate file is given. A key id or a certificate without a key is a problem: it would be
 * silently ignored.
 */
export function readKeyFile({ path, keyId, certPath, where }: KeyFiles, io: Io): KeyCredential {
  if (path === REPORTED || certPath === REPORTED) return REPORTED;
  if (path === undefined) {
    if (keyId !== undefined) io.report(`${where.keyId}: only used with a private key file (private_key_jwt)`);
    if (certPath !== undefined) io.report(`${where.cert}: only used with a private key file (private_key_jwt)`);
    return undefined;
  }
  const key = readParsed(path, where.file, (text) => parseSigningKey(text, keyId), io);
  if (key === REPORTED || certPath === undefined) return key;
  return readParsed(certPath, where.cert, (text) => withCertificate(key, text), io);
}

export function readParsed<T>(path: string, where: string, parse: (text: string) => Parsed<T>, io: Io): T | typeof REPORTED {
  let content: string;
  try {
    content = io.readFile(path);
  } catch (error) {
    io.report(`${where}: cannot read ${JSON.stringify(path)} (${describeReadError(error)})`);
    return REPORTED;
  }
  const parsed = parse(content);
  if (parsed.ok) return parsed.value;
  io.report(`${where}: ${JSON.stringify(path)} ${parsed.rule}`);
  return REPORTED;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
