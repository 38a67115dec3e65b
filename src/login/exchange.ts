import { request } from 'undici';
import type { ProfileConfig } from '../config/types.js';
import { requestToken, TokenEndpointError, type TokenResponse } from '../token/endpoint.js';
import { AuthorizationCodeGrant } from '../token/grants/authorization-code.js';
import { LoginError } from './login-error.js';

/**
 * The two calls a login makes with what the browser brought back: the code exchange at the token
 * endpoint (RFC 6749 §4.1.3, with the PKCE verifier, RFC 7636 §4.5) and GET /api/v2/users/me with the
 * new access token, to say who logged in (docs/genesys.md §4).
 */

/**
 * Exchanges the code. With a client secret: Basic authentication (Genesys's "Code Authorization"
 * client, PKCE on top); without: a public client, `client_id` in the form (Genesys's PKCE grant, the
 * JS SDK's loginPKCEGrant). One attempt: a code is single use, so a retry could only fail.
 */
export async function exchangeCode(
  profile: ProfileConfig,
  code: string,
  redirectUri: string,
  codeVerifier: string,
  timeoutMs: number,
): Promise<TokenResponse> {
  try {
    const grant = new AuthorizationCodeGrant({ code, redirectUri, codeVerifier });
    return await requestToken(profile, await grant.request(), timeoutMs);
  } catch (err) {
    if (!(err instanceof TokenEndpointError)) throw err;
    const oauth = err.oauthError ? `${err.oauthError}${err.oauthDescription ? `: ${err.oauthDescription}` : ''}` : undefined;
    throw new LoginError(`the token endpoint refused the code exchange: ${oauth ?? err.message}${oauth ? ` (${err.message})` : ''}`);
  }
}

export type Identity =
  | { readonly ok: true; readonly id: string; readonly name: string }
  | { readonly ok: false; readonly problem: string };

/** Who the access token acts for. A failure is described, never thrown: the login itself worked. */
export async function whoLoggedIn(upstreamUrl: string, accessToken: string, timeoutMs: number): Promise<Identity> {
  try {
    const response = await request(`${upstreamUrl}/api/v2/users/me`, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (response.statusCode === 200 && typeof body?.id === 'string') {
      return { ok: true, id: body.id, name: typeof body.name === 'string' ? body.name : '(no name)' };
    }
    // A Genesys error body names its code and message (docs/genesys.md §6); neither holds the token.
    const detail = [body?.code, body?.message].filter((part) => typeof part === 'string').join(': ').slice(0, 300);
    return { ok: false, problem: `GET /api/v2/users/me answered HTTP ${response.statusCode}${detail ? ` (${detail})` : ''}` };
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    return { ok: false, problem: `GET /api/v2/users/me failed: ${e.code ?? e.name ?? 'error'}` };
  }
}
