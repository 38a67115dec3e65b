/**
 * GET and POST /oauth/authorize: the authorization endpoint of the code grant with PKCE (RFC 6749
 * §4.1, RFC 7636), as Genesys serves it on the login host (docs/genesys.md §10).
 *
 * GET checks the request and shows the login page (authorize-page.ts); POST (the page's form) checks it
 * again, then on Approve with a known user name and password redirects to `redirect_uri` with a
 * single-use code (authorization-codes.ts), on Deny with `error=access_denied`.
 *
 * Checks, in the order RFC 6749 §4.1.2.1 asks for: a request naming an unknown client or a
 * redirect URI not registered for it gets an error page, never a redirect (a redirect would hand the
 * answer to whoever forged the URL); every other problem redirects with `error=invalid_request` and
 * the `state` given. This mock requires PKCE with S256 from every client, as OAuth 2.1 does.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CARRIED_PARAMETERS, errorPage, loginPage, type AuthorizationParameters } from './authorize-page.js';
import type { AuthorizationCodes } from './authorization-codes.js';
import type { MockOptions } from './options.js';
import type { MockCounters } from './stats.js';

export interface AuthorizeDeps {
  options: MockOptions;
  clock: { now(): number };
  codes: AuthorizationCodes;
  counters: MockCounters;
}

/** A code_challenge is BASE64URL(SHA256(verifier)) without padding: always 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

type Form = Partial<Record<string, string>>;

function carried(source: Form): AuthorizationParameters {
  const parameters: AuthorizationParameters = {};
  for (const name of CARRIED_PARAMETERS) if (typeof source[name] === 'string') parameters[name] = source[name];
  return parameters;
}

function redirectTo(reply: FastifyReply, redirectUri: string, fields: Record<string, string | undefined>): FastifyReply {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) target.searchParams.set(name, value);
  return reply.code(302).header('cache-control', 'no-store').header('location', target.href).send();
}

export function registerAuthorizeEndpoint(app: FastifyInstance, deps: AuthorizeDeps): void {
  const { options, clock, codes, counters } = deps;

  /** Undefined when the request may proceed to the login page; otherwise the answer already sent. */
  function check(parameters: AuthorizationParameters, reply: FastifyReply): FastifyReply | undefined {
    const html = (status: number, description: string) =>
      reply.code(status).type('text/html; charset=utf-8').send(errorPage('invalid_request', description));
    if (parameters.client_id !== options.clientId) return html(400, 'unknown client_id');
    if (parameters.redirect_uri === undefined || !options.redirectUris.includes(parameters.redirect_uri)) {
      return html(400, 'redirect_uri is not registered for this client');
    }
    const problem =
      parameters.response_type !== 'code' ? 'response_type must be code'
      : parameters.code_challenge === undefined ? 'code_challenge is required (PKCE)'
      : parameters.code_challenge_method !== 'S256' ? 'code_challenge_method must be S256'
      : !S256_CHALLENGE.test(parameters.code_challenge) ? 'code_challenge must be 43 base64url characters'
      : undefined;
    if (problem === undefined) return undefined;
    return redirectTo(reply, parameters.redirect_uri, { error: 'invalid_request', error_description: problem, state: parameters.state });
  }

  app.get('/oauth/authorize', async (request, reply) => {
    const parameters = carried(request.query as Form);
    return check(parameters, reply) ?? reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(loginPage(parameters, options.clientId));
  });

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post('/oauth/authorize', async (request, reply) => {
      const form: Form = (request.body as Form | undefined) ?? {};
      const parameters = carried(form);
      const refused = check(parameters, reply);
      if (refused !== undefined) return refused;
      const redirectUri = parameters.redirect_uri!;
      if (form.decision === 'deny') {
        return redirectTo(reply, redirectUri, { error: 'access_denied', error_description: 'the user denied the request', state: parameters.state });
      }
      const user = options.users.find((candidate) => candidate.username === form.username);
      if (form.decision !== 'approve' || user === undefined || user.password !== form.password) {
        const message = form.decision !== 'approve' ? 'Choose Approve or Deny.' : 'Wrong user name or password.';
        return reply.code(401).type('text/html; charset=utf-8').send(loginPage(parameters, options.clientId, message));
      }
      const code = codes.issue(
        { clientId: options.clientId, redirectUri, codeChallenge: parameters.code_challenge!, userId: user.id },
        clock.now(),
      );
      counters.authorizationCodesIssued++;
      return redirectTo(reply, redirectUri, { code, state: parameters.state });
    });
  });
}
