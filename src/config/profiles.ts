import { grantEntry, GRANT_NAMES, type GrantCredential } from '../token/grants/index.js';
import type { KeyCredential } from './files.js';
import { REPORTED, type Credential, type Io } from './io.js';
import type { PoolSizeSetting, RateLimitPolicy } from './parsers.js';
import { isGenesysTokenUrl, type Region } from './regions.js';
import { followCredentialFiles, type CredentialFiles } from './rotating-secrets.js';
import { GRANT_OPTION_NAMES, SETTINGS, type GrantOptionName, type GrantOptions, type ProviderSetting, type SettingDefinition } from './settings.js';
import type { Grant, ProfileConfig, SigningKey, TokenAuthMethod } from './types.js';

/**
 * Credential profiles: what a profile is made of, and how a profile as given (a draft: the flat
 * settings' own, or one of the profiles file's, profiles-file.ts) and the flat settings it inherits
 * make one ProfileConfig, with every rule that ties its fields together (what the grant and the
 * client authentication need, pools of one-chain grants).
 */

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
    readonly grantOption: (name: GrantOptionName) => string;
  };
  readonly clientId: Credential;
  readonly clientSecret: Credential;
  readonly refreshToken: Credential;
  readonly privateKey: KeyCredential;
  /** The credentials above that were read from files: they follow the files when replaced. */
  readonly files?: CredentialFiles;
  readonly provider: Partial<ProviderFields>;
  /** The grant's own settings as this profile gives them (the flat ones for the flat profile). */
  readonly grantOptions: GrantOptions;
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
  readonly rateLimitWindowS: number;
  readonly provider: ProviderSetting;
  readonly rateLimitPolicy: RateLimitPolicy;
  readonly rateLimitMaxWaitMs: number;
}

/** What a profile inherits from the flat settings. */
/** The token request and injection settings: a profile's own, else the flat ones. */
export type ProviderFields = Pick<
  ProfileConfig,
  'tokenAuth' | 'scope' | 'audience' | 'resources' | 'tokenParams' | 'defaultLifetimeS' | 'injectHeader' | 'injectPrefix'
>;

export interface ProfileDefaults extends ProviderFields {
  readonly grant: Grant;
  readonly grantOptions: GrantOptions;
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
  const { reads, oneToken } = grantEntry(grant);
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
    : clientCredential(draft, provider.tokenAuth, reads.includes('privateKey') ? grant : undefined, io);
  let refreshToken: string | undefined;
  // For login the drafts carry no refresh token (login obtains it), so neither branch applies.
  if (reads.includes('refreshToken') && !forLogin) {
    refreshToken = required(draft.refreshToken, draft.labels.refreshToken, `required by the ${grant} grant`);
    if (refreshToken === undefined) return undefined;
  } else if (draft.refreshToken !== undefined) {
    // Most likely the grant was forgotten: requests would silently run without user context.
    io.report(`${draft.labels.refreshToken}: only used by the ${readersOf('refreshToken')} grant, but the grant is ${grant}`);
  }
  for (const name of GRANT_OPTION_NAMES) {
    const owner = (SETTINGS[name] as SettingDefinition<unknown>).forGrant;
    if (draft.grantOptions[name] !== undefined && owner !== grant) {
      io.report(`${draft.labels.grantOption(name)}: only used by the ${owner} grant, but the grant is ${grant}`);
    }
  }
  const pool: PoolSettings = { ...inherited.pool, ...draft.pool };
  if (oneToken && pool.poolSize !== 'auto' && pool.poolSize > 1) {
    io.report(`${draft.labels.poolSize}: must be 1 with the ${grant} grant (${oneToken}), got ${pool.poolSize}`);
  }
  if (clientId === undefined || (clientSecret === undefined && privateKey === undefined)) return undefined;
  // With a grant of one chain `auto` means one token, for the same reason.
  const poolAuto = pool.poolSize === 'auto' && !oneToken;
  const tokenUrlOf = draft.tokenUrl ?? draft.region?.tokenUrl ?? inherited.tokenUrl ?? inherited.region.tokenUrl;
  return followCredentialFiles({
    name: draft.name,
    grant,
    clientId,
    ...(clientSecret !== undefined && { clientSecret }),
    ...(refreshToken !== undefined && { refreshToken }),
    grantOptions: { ...inherited.grantOptions, ...draft.grantOptions },
    upstreamUrl: draft.upstreamUrl ?? draft.region?.apiBase ?? inherited.upstreamUrl ?? inherited.region.apiBase,
    tokenUrl: tokenUrlOf,
    poolSize: pool.poolSize === 'auto' ? 1 : pool.poolSize,
    poolAuto,
    poolMax: pool.poolMax,
    ...(pool.rateLimitPerToken !== undefined && { rateLimitPerToken: pool.rateLimitPerToken }),
    rateLimitWindowMs: pool.rateLimitWindowS * 1000,
    provider: pool.provider === 'auto' ? (isGenesysTokenUrl(tokenUrlOf) ? 'genesys' : 'oauth2') : pool.provider,
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

/** The grants that read `credential`, for a problem's wording. */
function readersOf(credential: GrantCredential): string {
  return GRANT_NAMES.filter((name) => grantEntry(name).reads.includes(credential)).join(' or ');
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
