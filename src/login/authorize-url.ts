/**
 * Where the person logs in: the authorization endpoint and the authorization request sent there
 * (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3; Genesys: docs/genesys.md §10).
 */

/**
 * OAUTH_AUTHORIZE_URL when set; otherwise beside the token endpoint, as Genesys serves both on the
 * login host (`https://login.<region domain>/oauth/token` -> `.../oauth/authorize`). A token URL that
 * does not end in `/token` has no obvious neighbour: undefined, and the caller asks for the setting.
 */
export function authorizationEndpoint(tokenUrl: string, configured?: string): string | undefined {
  if (configured !== undefined) return configured;
  const url = new URL(tokenUrl);
  if (!/\/token$/.test(url.pathname) || url.search !== '') return undefined;
  url.pathname = url.pathname.replace(/\/token$/, '/authorize');
  return url.href;
}

export interface AuthorizationRequest {
  readonly endpoint: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state: string;
  readonly codeChallenge: string;
}

/** The URL a browser opens. Holds no secret: the challenge is a hash, the state is checked on return. */
export function authorizationUrl(request: AuthorizationRequest): string {
  const url = new URL(request.endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', request.clientId);
  url.searchParams.set('redirect_uri', request.redirectUri);
  url.searchParams.set('state', request.state);
  url.searchParams.set('code_challenge', request.codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.href;
}
