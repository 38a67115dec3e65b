import { TokenEndpointError } from '../endpoint.js';
import { grantFields, type Grant, type GrantCall, type GrantDeps, type GrantRequest } from './grant.js';

/**
 * The refresh-token grant (RFC 6749 §6) for user context (docs/genesys.md §4), owning the rotation
 * of its refresh-token family: each answer may bring a new refresh token, and the one presented is
 * spent from that moment on.
 *
 * The current refresh token is read from the store (shared by every instance of the fleet) for each
 * request; the rotated one is written back, with the generation of the access token it came with,
 * before that access token is handed out. With `local` (store unreachable) the last refresh token
 * this process saw is used and kept in memory only. The seed (`OAUTH_REFRESH_TOKEN`) is read from
 * the profile at request time, and only while neither the store nor an answer has given a newer one,
 * except when it changed: a seed file replaced while running (`OAUTH_REFRESH_TOKEN_FILE` after a new
 * login) starts a new family, which wins over whatever was kept.
 */
export const REFRESH_TOKEN = 'refresh_token';

/** What the grant reads of its profile. */
export interface RefreshTokenProfile {
  /** The seed refresh token. Secret. */
  readonly refreshToken?: string;
}

export class RefreshTokenGrant implements Grant {
  /** The last refresh token an answer brought (in memory: what `local` falls back on). */
  private lastSeen: string | undefined;
  /** The seed as last read (the profile's value is a getter over its file when it came from one). */
  private seed: string | undefined;

  constructor(
    private readonly profile: RefreshTokenProfile,
    private readonly deps: GrantDeps,
  ) {
    this.seed = profile.refreshToken;
  }

  async request({ local }: GrantCall): Promise<GrantRequest> {
    const seed = this.profile.refreshToken;
    if (seed !== this.seed) {
      // A new seed file was put in place (a new login): its family replaces whatever was kept.
      this.seed = seed;
      this.lastSeen = undefined;
      if (seed) return { fields: grantFields(REFRESH_TOKEN, ['refresh_token', seed]), secrets: [seed] };
    }
    const stored = local ? null : await this.deps.store.getRefreshToken(this.deps.key);
    const refreshToken = stored ?? this.lastSeen ?? this.profile.refreshToken;
    if (!refreshToken) {
      throw new TokenEndpointError('rejected', 'no refresh token: set OAUTH_REFRESH_TOKEN (or _FILE) for the refresh_token grant');
    }
    return { fields: grantFields(REFRESH_TOKEN, ['refresh_token', refreshToken]), secrets: [refreshToken] };
  }

  async answered({ refreshToken }: { readonly refreshToken?: string }, { generation, local }: GrantCall & { readonly generation: number }): Promise<void> {
    if (refreshToken === undefined) return;
    this.lastSeen = refreshToken;
    // A failed write is not the caller's failure: the access token is good, and the next refresh
    // reads whatever the store holds (a newer family member from another instance, or this one).
    if (!local) await this.deps.store.putRefreshToken(this.deps.key, refreshToken, generation).catch(() => false);
  }
}
