/**
 * What every /api/v2 route goes through before its handler, as Genesys does it: a correlation id on
 * every answer, bearer-token authentication, and the rate limit with whatever budget headers it was
 * asked to send (rate-limits.ts; docs/genesys.md §5, §6, §7). Also the rehearsal knobs --api-latency and --fail-api-*, and the
 * API counters of /__stats.
 *
 * This is the load-test hot path: one map lookup per request, no logging, no allocation beyond the
 * correlation id and the headers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { authenticationRequired, badCredentials, CORRELATION_HEADER, newCorrelationId } from './genesys-errors.js';
import { replyWithInjectedFailure, type FailureInjector } from './failure-injector.js';
import type { MockOptions } from './options.js';
import type { ApiRateLimit } from './rate-limits.js';
import type { MockCounters } from './stats.js';
import type { AccessToken, TokenRegistry } from './token-registry.js';

export interface ApiGateDeps {
  options: MockOptions;
  clock: { now(): number };
  tokens: TokenRegistry;
  counters: MockCounters;
  failures: FailureInjector;
  rateLimit: ApiRateLimit;
}

const TOKEN_DECORATOR = 'mockAccessToken';

/** The token that authenticated this request; only valid inside a route behind the gate. */
export function authenticatedToken(request: FastifyRequest): AccessToken {
  return request.getDecorator<AccessToken>(TOKEN_DECORATOR);
}

/** The `ININ-Correlation-Id` the gate gave this answer, for the `contextId` of an error body. */
export function correlationIdOf(reply: FastifyReply): string {
  return reply.getHeader(CORRELATION_HEADER) as string;
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}

/**
 * Installs the gate on an encapsulated scope: its hooks run for that scope's routes only, so the
 * token endpoint and /__stats stay outside it.
 */
export function installApiGate(scope: FastifyInstance, deps: ApiGateDeps): void {
  const { options, clock, tokens, counters, failures, rateLimit } = deps;
  const { apiLatencyMs } = options;

  scope.decorateRequest(TOKEN_DECORATOR, null);

  scope.addHook('onRequest', async (request, reply) => {
    if (apiLatencyMs > 0) await sleep(apiLatencyMs);
    const correlationId = newCorrelationId();
    reply.header(CORRELATION_HEADER, correlationId);
    const now = clock.now();

    const injected = failures.next(now);
    if (injected !== undefined) return replyWithInjectedFailure(reply, injected, correlationId);

    // A header that is present but is no bearer token (e.g. Basic) counts as missing credentials.
    const presented = bearerToken(request.headers.authorization);
    if (presented === undefined) return reply.code(401).send(authenticationRequired(correlationId));
    const token = tokens.find(presented, now);
    if (token === undefined) return reply.code(401).send(badCredentials(correlationId));

    if (rateLimit.enabled && !rateLimit.admit(token, reply, now, correlationId)) return reply;

    request.setDecorator(TOKEN_DECORATOR, token);
  });

  // Counted as the answer is sent rather than once it has been, so a client that reads /__stats right
  // after its answer arrives always sees it counted.
  scope.addHook('onSend', (_request, reply, payload, done) => {
    counters.countApiResponse(reply.statusCode);
    done(null, payload);
  });
}
