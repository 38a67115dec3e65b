/**
 * The Limits API as the official SDKs document it (docs/genesys.md §10), behind the same gate as the
 * other API routes (a valid bearer token; the request counts against the rate limit like any other):
 *
 * - `GET /api/v2/organizations/limits/namespaces/{namespace}`: the organisation's effective limits
 *   in that namespace, a `LimitsEntityListing`: `{"entities":[{"key","namespace","value"}, ...]}`;
 * - `GET /api/v2/organizations/limits/namespaces/{namespace}/defaults`: the same listing with
 *   Genesys's default values.
 *
 * Which namespace holds the Platform API's rate limits is unconfirmed, so the mock serves them under
 * --limits-namespace and answers any other namespace with a 404 `not.found` (the real answer for an
 * unknown namespace is unconfirmed too). The effective per-minute value is --limits-api-value, by
 * default the enforced limit scaled to a minute. Current SDK docs say these calls need no permission;
 * older ones named `limits:organization:view`, so --limits-api-forbidden answers 403
 * `missing.permissions` naming it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { correlationIdOf } from './api-gate.js';
import { missingPermissions, notFound } from './genesys-errors.js';
import {
  APP_USER_KEY,
  CLIENT_CREDENTIALS_TOKEN_KEY,
  GENESYS_DEFAULT_PER_MINUTE,
  GENESYS_REQUEST_BYTES_MAX,
  perMinute,
  REQUEST_BYTES_KEY,
  TOKEN_KEY,
  type GenesysLimit,
} from './genesys-limits.js';
import type { MockOptions } from './options.js';
import type { MockCounters } from './stats.js';

export interface LimitsApiDeps {
  options: MockOptions;
  counters: MockCounters;
}

/** The permission older SDK docs require for the effective limits. */
export const LIMITS_VIEW_PERMISSION = 'limits:organization:view';

/** A Genesys `LimitsEntityListing`. */
export interface LimitsEntityListing {
  entities: GenesysLimit[];
}

/** The per-minute value the mock reports for its rate limits (docs/genesys.md §10). */
export function effectivePerMinute(options: MockOptions): number {
  if (options.limitsApiValue !== null) return options.limitsApiValue;
  return options.perTokenLimit > 0 ? perMinute(options.perTokenLimit, options.perTokenWindowMs) : GENESYS_DEFAULT_PER_MINUTE;
}

function listing(namespace: string, ratePerMinute: number): LimitsEntityListing {
  return {
    entities: [
      { key: CLIENT_CREDENTIALS_TOKEN_KEY, namespace, value: ratePerMinute },
      { key: TOKEN_KEY, namespace, value: ratePerMinute },
      { key: APP_USER_KEY, namespace, value: ratePerMinute },
      { key: REQUEST_BYTES_KEY, namespace, value: GENESYS_REQUEST_BYTES_MAX },
    ],
  };
}

export function registerLimitsApi(scope: FastifyInstance, deps: LimitsApiDeps): void {
  const { options, counters } = deps;

  const answer = (values: 'effective' | 'defaults') => async (request: FastifyRequest, reply: FastifyReply) => {
    counters.limitsApiRequests++;
    const contextId = correlationIdOf(reply);
    if (options.limitsApiForbidden) return reply.code(403).send(missingPermissions([LIMITS_VIEW_PERMISSION], contextId));
    const { namespace } = request.params as { namespace: string };
    if (namespace !== options.limitsNamespace) return reply.code(404).send(notFound(contextId));
    return listing(namespace, values === 'effective' ? effectivePerMinute(options) : GENESYS_DEFAULT_PER_MINUTE);
  };

  scope.get('/api/v2/organizations/limits/namespaces/:namespace', answer('effective'));
  scope.get('/api/v2/organizations/limits/namespaces/:namespace/defaults', answer('defaults'));
}
