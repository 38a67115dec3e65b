/**
 * The Platform API resources the mock serves behind the gate (api-gate.ts): /users/me, which needs a
 * user context, /tokens/me, and a Genesys-shaped 404 for every other /api/v2 path.
 */
import type { FastifyInstance } from 'fastify';
import { notFound, userContextRequired } from './genesys-errors.js';
import { authenticatedToken, correlationIdOf } from './api-gate.js';
import type { MockCounters } from './stats.js';
import type { AccessToken, TokenRegistry } from './token-registry.js';
import { userResource, type MockUser } from './users.js';

export interface ApiRoutesDeps {
  tokens: TokenRegistry;
  counters: MockCounters;
  /** Every user a token may belong to, by id. */
  usersById: ReadonlyMap<string, MockUser>;
}

const MOCK_ORGANIZATION = {
  id: '7d1a0f5e-0000-4000-8000-00000000a001',
  name: 'token-sidecar mock organization',
  selfUri: '/api/v2/organizations/7d1a0f5e-0000-4000-8000-00000000a001',
};

/**
 * A TokenInfo-like answer (docs/genesys.md §2). Client-credentials clients get permissions from roles, not
 * scopes, so their authorizedScope is empty.
 */
function tokenInfo(token: AccessToken) {
  return {
    organization: MOCK_ORGANIZATION,
    homeOrganization: MOCK_ORGANIZATION,
    authorizedScope: token.userId === undefined ? [] : ['user-basic-info'],
    OAuthClient: {
      id: token.clientId,
      name: 'token-sidecar mock client',
      selfUri: `/api/v2/oauth/clients/${token.clientId}`,
    },
  };
}

export function registerApiRoutes(scope: FastifyInstance, deps: ApiRoutesDeps): void {
  // docs/genesys.md §4: a client-credentials token gets HTTP 400 here; the real `code` is unconfirmed.
  // A user-context token answers with its own user (the one who logged in, kept through rotation).
  scope.get('/api/v2/users/me', async (request, reply) => {
    const { userId } = authenticatedToken(request);
    const user = userId === undefined ? undefined : deps.usersById.get(userId);
    if (user === undefined) return reply.code(400).send(userContextRequired(correlationIdOf(reply)));
    deps.counters.usersMe[user.id] = (deps.counters.usersMe[user.id] ?? 0) + 1;
    return userResource(user);
  });

  // "Verify user token" (docs/genesys.md §3): the gate has already verified it. Declared before the GET so
  // Fastify does not derive a HEAD route from it.
  scope.head('/api/v2/tokens/me', async (_request, reply) => reply.code(200).send());

  scope.get('/api/v2/tokens/me', async (request) => tokenInfo(authenticatedToken(request)));

  // docs/genesys.md §3: "Delete auth token used to make the request", no body; hence 204.
  scope.delete('/api/v2/tokens/me', async (request, reply) => {
    deps.tokens.revoke(authenticatedToken(request).value);
    return reply.code(204).send();
  });

  scope.all('/api/v2/*', async (_request, reply) => reply.code(404).send(notFound(correlationIdOf(reply))));
}
