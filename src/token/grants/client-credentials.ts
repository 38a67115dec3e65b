import { grantFields, type Grant, type GrantRequest } from './grant.js';

/**
 * The client-credentials grant (RFC 6749 §4.4, docs/genesys.md §1): the client asks for a token as
 * itself. No state: every request is the same, and the answer teaches it nothing.
 */
export const CLIENT_CREDENTIALS = 'client_credentials';

const REQUEST: GrantRequest = { fields: grantFields(CLIENT_CREDENTIALS), secrets: [] };

export class ClientCredentialsGrant implements Grant {
  async request(): Promise<GrantRequest> {
    return REQUEST;
  }

  async answered(): Promise<void> {}
}
