import { grantFields, type Grant, type GrantRequest } from './grant.js';

/**
 * The authorization-code grant's code exchange (RFC 6749 §4.1.3) with the PKCE verifier (RFC 7636
 * §4.5), for `token-sidecar login`: one request for one code (a code is single use), so the grant
 * holds the code, the redirect URI and the verifier it was made for, and nothing else. Not a value
 * of the `grant` setting: the sidecar itself never sees a code.
 */
export const AUTHORIZATION_CODE = 'authorization_code';

export interface CodeExchange {
  readonly code: string;
  readonly redirectUri: string;
  readonly codeVerifier: string;
}

export class AuthorizationCodeGrant implements Grant {
  constructor(private readonly exchange: CodeExchange) {}

  async request(): Promise<GrantRequest> {
    const { code, redirectUri, codeVerifier } = this.exchange;
    return {
      fields: grantFields(AUTHORIZATION_CODE, ['code', code], ['redirect_uri', redirectUri], ['code_verifier', codeVerifier]),
      secrets: [code, codeVerifier],
    };
  }

  /** The refresh token, if any, is login's to keep (it writes it where the sidecars read it). */
  async answered(): Promise<void> {}
}
