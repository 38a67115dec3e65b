import { ClientCredentialsGrant } from './client-credentials.js';
import type { Grant, GrantDeps } from './grant.js';
import { JwtBearerGrant, type JwtBearerProfile } from './jwt-bearer.js';
import { RefreshTokenGrant, type RefreshTokenProfile } from './refresh-token.js';

/**
 * The grants the `grant` setting (OAUTH_GRANT, a profile's `grant`) can name: each maps to the
 * factory of its grant (a file of its own beside this one) and to the facts the configuration checks
 * about it. The configuration takes its list of grants, and its `Grant` type, from this table, so a
 * grant added here is a value the settings accept; nothing else switches on a grant's name.
 *
 * To add a grant: write its file (a class implementing Grant, grant.ts), add its row here, and, if
 * it needs settings of its own, add their rows to config/settings.ts with `forGrant` naming it: their
 * values reach the factory as `profile.grantOptions` (config/types.ts), from flags, env and the
 * profiles file alike.
 */

/** A credential of the profile that a grant reads besides the client's own authentication. */
export type GrantCredential = 'refreshToken' | 'privateKey';

export interface GrantEntry {
  /** Builds the grant of one lifecycle slot from its profile (read at request time, not copied). */
  readonly create: (profile: never, deps: GrantDeps) => Grant;
  /** Required with this grant; given to another grant, a configuration problem (it would be ignored). */
  readonly reads: readonly GrantCredential[];
  /** Why its tokens form one chain, so the pool keeps one token; false when they are independent. */
  readonly oneToken: string | false;
  /**
   * Form fields it writes, which OAUTH_TOKEN_PARAMS may therefore not set, each with the setting
   * that does (`grant_type` is always refused).
   */
  readonly fields: Readonly<Record<string, string>>;
}

export const GRANTS = {
  client_credentials: {
    create: (_profile: object, _deps: GrantDeps) => new ClientCredentialsGrant(),
    reads: [],
    oneToken: false,
    fields: {},
  },
  refresh_token: {
    create: (profile: RefreshTokenProfile, deps: GrantDeps) => new RefreshTokenGrant(profile, deps),
    reads: ['refreshToken'],
    oneToken: 'one refresh token is one rotation chain',
    fields: { refresh_token: 'is set by --refresh-token' },
  },
  jwt_bearer: {
    create: (profile: JwtBearerProfile, _deps: GrantDeps) => new JwtBearerGrant(profile),
    reads: ['privateKey'],
    oneToken: false,
    fields: { assertion: 'is set by --grant jwt_bearer (signed with --private-key-file)' },
  },
} as const satisfies Record<string, GrantEntry>;

/** A value of the `grant` setting. */
export type GrantName = keyof typeof GRANTS;

export const GRANT_NAMES = Object.keys(GRANTS) as GrantName[];

/** The entry of `name`, as the common shape (for reading its facts without narrowing). */
export function grantEntry(name: GrantName): GrantEntry {
  return GRANTS[name];
}

/** The profile fields every grant in the table reads: a profile (config/types.ts) has them all. */
export type GrantProfile = { readonly grant: GrantName } & UnionToIntersection<Parameters<(typeof GRANTS)[GrantName]['create']>[0]>;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The grant of one lifecycle slot. */
export function createGrant(profile: GrantProfile, deps: GrantDeps): Grant {
  return GRANTS[profile.grant].create(profile, deps);
}

export type { Grant, GrantCall, GrantDeps, GrantRequest, RefreshTokenStore } from './grant.js';
