import { signAssertion, type SigningKey } from '../client-auth.js';
import { TokenEndpointError } from '../endpoint.js';
import { grantFields, type Grant, type GrantRequest } from './grant.js';

/**
 * The JWT bearer grant (RFC 7523 §2.1): the token is asked for with a JWT as the grant, signed with
 * the profile's private key (OAUTH_PRIVATE_KEY_FILE, the key private_key_jwt signs with). The
 * assertion's iss is the client id, its sub whom the token is for (OAUTH_JWT_SUBJECT, else the client
 * id), its aud the party that checks it (OAUTH_JWT_AUDIENCE, else the token URL), with a unique jti
 * and a short exp (client-auth.ts signAssertion). A new assertion for every request, retries
 * included; the key and the options are read from the profile at that moment. No state: an answer
 * teaches it nothing (a refresh token, if one comes, is not used: the next assertion does its work).
 *
 * The client still authenticates as OAUTH_TOKEN_AUTH says (RFC 7523 §3.1 leaves that to the
 * provider): with client_secret_basic or _post by its secret, with private_key_jwt by a second
 * assertion from the same key.
 */
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** What the grant reads of its profile. */
export interface JwtBearerProfile {
  readonly clientId: string;
  readonly tokenUrl: string;
  /** Secret. */
  readonly privateKey?: SigningKey;
  readonly grantOptions: { readonly jwtSubject?: string; readonly jwtAudience?: string };
}

export class JwtBearerGrant implements Grant {
  constructor(private readonly profile: JwtBearerProfile) {}

  async request(): Promise<GrantRequest> {
    const { clientId, tokenUrl, privateKey, grantOptions } = this.profile;
    if (privateKey === undefined) {
      throw new TokenEndpointError('rejected', 'no private key: set OAUTH_PRIVATE_KEY_FILE for the jwt_bearer grant');
    }
    let assertion: string;
    try {
      assertion = await signAssertion(privateKey, {
        issuer: clientId,
        subject: grantOptions.jwtSubject ?? clientId,
        audience: grantOptions.jwtAudience ?? tokenUrl,
      });
    } catch (err) {
      // Only a key the crypto refuses to use gets here: retrying will not help.
      throw new TokenEndpointError('malformed', `cannot sign the jwt_bearer assertion: ${(err as Error).message}`);
    }
    return { fields: grantFields(JWT_BEARER, ['assertion', assertion]), secrets: [assertion] };
  }

  async answered(): Promise<void> {}
}
