/**
 * POST /oauth/token, as Genesys serves it on the login host (docs/genesys.md §1, §4, §10): client
 * authentication by HTTP Basic, an `application/x-www-form-urlencoded` body, the `client_credentials`,
 * `refresh_token` and `authorization_code` (with PKCE) grants, and OAuth-shaped errors (docs/genesys.md §6).
 *
 * A public client (no secret: Genesys's PKCE grant) authenticates by `client_id` in the form alone,
 * and only for the code and refresh grants; its code exchange returns a refresh token only with
 * --public-client-refresh-tokens.
 *
 * A request passes, in order: --token-latency, injected failures, --token-rate-limit, client
 * authentication, then the grant.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { CORRELATION_HEADER, newCorrelationId, oauthError, tooManyRequests, type OAuthErrorCode } from './genesys-errors.js';
import { replyWithInjectedFailure, type FailureInjector } from './failure-injector.js';
import type { MockOptions } from './options.js';
import type { FixedWindowCounter } from './rate-window.js';
import type { Grant, MockCounters } from './stats.js';
import type { AuthorizationCodes } from './authorization-codes.js';
import type { AccessToken, TokenRegistry } from './token-registry.js';

export interface TokenEndpointDeps {
  options: MockOptions;
  clock: { now(): number };
  tokens: TokenRegistry;
  codes: AuthorizationCodes;
  counters: MockCounters;
  failures: FailureInjector;
  /** Null when --token-rate-limit is 0 (unlimited). */
  rateLimit: FixedWindowCounter | null;
}

type TokenForm = Partial<Record<string, string>>;

const GRANTS: ReadonlySet<string> = new Set<Grant>(['client_credentials', 'refresh_token', 'authorization_code']);
/** The grants a public client (client_id, no secret) may use. */
const PUBLIC_CLIENT_GRANTS: ReadonlySet<string | undefined> = new Set(['refresh_token', 'authorization_code']);

function grantOf(body: unknown): Grant | undefined {
  const grant = (body as TokenForm | undefined)?.grant_type;
  return grant !== undefined && GRANTS.has(grant) ? (grant as Grant) : undefined;
}

/** The client id and secret of an `Authorization: Basic base64(id:secret)` header, if well formed. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

function replyOAuthError(reply: FastifyReply, status: number, error: OAuthErrorCode, description: string): FastifyReply {
  return reply.code(status).send(oauthError(error, description));
}

/** The success body (docs/genesys.md §1); `refresh_token` only for the user-context grants (docs/genesys.md §4). */
function tokenResponse(token: AccessToken, lifetimeSeconds: number, refreshToken?: string) {
  return {
    access_token: token.value,
    token_type: 'bearer',
    expires_in: lifetimeSeconds,
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
  };
}

export function registerTokenEndpoint(app: FastifyInstance, deps: TokenEndpointDeps): void {
  const { options, clock, tokens, codes, counters, failures, rateLimit } = deps;

  async function issueToken(request: FastifyRequest, reply: FastifyReply) {
    if (options.tokenLatencyMs > 0) await sleep(options.tokenLatencyMs);
    const now = clock.now();

    const injected = failures.next(now);
    if (injected !== undefined) {
      const correlationId = newCorrelationId();
      return replyWithInjectedFailure(reply.header(CORRELATION_HEADER, correlationId), injected, correlationId);
    }

    // Genesys documents no token-endpoint rate limit (docs/genesys.md §5), so its shape is borrowed from
    // the Platform API's normalized 429.
    if (rateLimit !== null && rateLimit.hit(now) > options.tokenRateLimit) {
      const retryAfter = rateLimit.secondsUntilReset(now);
      const correlationId = newCorrelationId();
      return reply
        .code(429)
        .header('retry-after', retryAfter)
        .header(CORRELATION_HEADER, correlationId)
        .send(tooManyRequests(retryAfter, correlationId));
    }

    // docs/genesys.md §6 leaves the status of each token error unconfirmed; these follow RFC 6749 §5.2.
    const form: TokenForm = (request.body as TokenForm | undefined) ?? {};
    const basic = basicCredentials(request.headers.authorization);
    const publicClient = request.headers.authorization === undefined && form.client_id === options.clientId && PUBLIC_CLIENT_GRANTS.has(form.grant_type);
    const client = publicClient ? { id: options.clientId } : basic;
    if (client === undefined || client.id !== options.clientId || (!publicClient && basic?.secret !== options.clientSecret)) {
      const description = client !== undefined && client.id !== options.clientId ? 'client not found' : 'authentication failed';
      return replyOAuthError(reply.header('www-authenticate', 'Basic realm="oauth"'), 401, 'invalid_client', description);
    }

    reply.header('cache-control', 'no-store');
    switch (form.grant_type) {
      case 'client_credentials':
        return tokenResponse(tokens.issue(client.id, 'client_credentials', now), options.tokenLifetimeSeconds);
      case 'refresh_token': {
        if (!form.refresh_token) return replyOAuthError(reply, 400, 'invalid_request', 'refresh_token is required');
        const redeemed = tokens.redeemRefreshToken(form.refresh_token);
        if (redeemed === undefined) {
          return replyOAuthError(reply, 400, 'invalid_grant', 'refresh token is invalid, expired, revoked or already used');
        }
        const token = tokens.issue(client.id, 'refresh_token', now, redeemed.userId);
        return tokenResponse(token, options.tokenLifetimeSeconds, redeemed.refreshToken);
      }
      case 'authorization_code': {
        if (!form.code) return replyOAuthError(reply, 400, 'invalid_request', 'code is required');
        const redeemed = codes.redeem(form.code, { clientId: client.id, redirectUri: form.redirect_uri, codeVerifier: form.code_verifier }, now);
        if (!redeemed.ok) {
          if (redeemed.revoke !== undefined) tokens.revoke(redeemed.revoke);
          return replyOAuthError(reply, 400, 'invalid_grant', redeemed.description);
        }
        const token = tokens.issue(client.id, 'authorization_code', now, redeemed.grant.userId);
        redeemed.onIssued(token.value);
        const withRefresh = !publicClient || options.publicClientRefreshTokens;
        const refreshToken = withRefresh ? tokens.issueRefreshToken(redeemed.grant.userId) : undefined;
        return tokenResponse(token, options.tokenLifetimeSeconds, refreshToken);
      }
      case undefined:
        return replyOAuthError(reply, 400, 'invalid_request', 'grant_type is required');
      default:
        return replyOAuthError(reply, 400, 'unsupported_grant_type', `grant_type ${form.grant_type} is not supported`);
    }
  }

  app.register(async (scope) => {
    // The token endpoint takes form bodies only (docs/genesys.md §1); other content types get Fastify's 415.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    // Counted as the answer is sent, so /__stats read right after it already includes it.
    scope.addHook('onSend', (request, reply, payload, done) => {
      counters.countTokenResponse(reply.statusCode, grantOf(request.body));
      done(null, payload);
    });
    scope.post('/oauth/token', issueToken);
  });
}
