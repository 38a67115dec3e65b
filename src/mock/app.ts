/**
 * The Genesys-compatible rehearsal upstream: an app factory with knobs (options.ts) and counters
 * (stats.ts), used by tests, `token-sidecar mock` and the demo. It never listens; callers do (tests on
 * port 0). It imports nothing from the sidecar, so it cannot share the sidecar's bugs.
 *
 * Routes: POST /oauth/token (token-endpoint.ts); GET/POST /oauth/authorize, the login page of the
 * authorization-code grant (authorize.ts); /api/v2/users/me, /api/v2/tokens/me and a 404 for
 * other /api/v2 paths (api-routes.ts); the Limits API (limits-api.ts); ALL /api/v2/echo/*
 * (echo-route.ts); GET /__stats and POST /__reset (here, unauthenticated); POST /__client-secret
 * rotates the accepted secret (client-secret-route.ts).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { installApiGate } from './api-gate.js';
import { AuthorizationCodes } from './authorization-codes.js';
import { registerAuthorizeEndpoint } from './authorize.js';
import { registerApiRoutes } from './api-routes.js';
import { registerEchoRoute } from './echo-route.js';
import { registerLimitsApi } from './limits-api.js';
import { FailureInjector } from './failure-injector.js';
import { mockDefaults, type MockOptions } from './options.js';
import { ApiRateLimit } from './rate-limits.js';
import { FixedWindowCounter } from './rate-window.js';
import { MockCounters, type MockStats, type RateLimitStats } from './stats.js';
import { registerClientSecretRoute } from './client-secret-route.js';
import { registerTokenEndpoint } from './token-endpoint.js';
import { TokenRegistry } from './token-registry.js';
import { SEED_USER } from './users.js';

export interface MockUpstream {
  app: FastifyInstance;
  /** What GET /__stats answers. */
  stats(): MockStats;
  /**
   * What POST /__reset does: zeroes the counters (per-token API counts included), restarts the
   * every-Nth failure sequences and the token endpoint's rate window. Tokens (access and refresh)
   * stay valid, and so do the API rate windows counting them; failure windows keep counting from
   * the mock's start.
   */
  reset(): void;
}

export interface MockDeps {
  /** Time for token and code expiry, rate windows and failure windows (default Date.now); latencies use real timers. */
  clock?: { now(): number };
}

export function buildMockUpstream(overrides: Partial<MockOptions> = {}, deps: MockDeps = {}): MockUpstream {
  const options: MockOptions = { ...mockDefaults, ...overrides };
  const clock = deps.clock ?? { now: Date.now };
  const startedAt = clock.now();
  const counters = new MockCounters();
  const tokens = new TokenRegistry(options, counters);
  const codes = new AuthorizationCodes();
  const usersById = new Map([SEED_USER, ...options.users].map((user) => [user.id, user] as const));
  const tokenFailures = new FailureInjector(
    { every: options.failTokenEvery, status: options.failTokenStatus, window: options.failTokenWindow },
    startedAt,
  );
  const apiFailures = new FailureInjector(
    { every: options.failApiEvery, status: options.failApiStatus, window: options.failApiWindow },
    startedAt,
  );
  const tokenRateLimit = options.tokenRateLimit > 0 ? new FixedWindowCounter(options.tokenRateWindowMs) : null;

  const rateLimit = new ApiRateLimit(options);

  const rateLimitStats = (now: number): RateLimitStats => ({
    mode: options.rateLimitMode,
    limit: options.perTokenLimit,
    windowMs: options.perTokenWindowMs,
    windowKind: options.windowKind,
    budgetHeaders: options.budgetHeaders,
    rateLimited: { ...rateLimit.rateLimited },
    byToken: [...tokens.valid(now)]
      .filter((token) => token.apiRequests > 0)
      .map((token) => ({ token: token.serial, requests: token.apiRequests, rateLimited: token.rateLimited })),
  });
  const stats = () => {
    const now = clock.now();
    return counters.snapshot(tokens.activeCount(now), startedAt, rateLimitStats(now));
  };
  const reset = () => {
    counters.reset();
    rateLimit.reset();
    for (const token of tokens.valid(clock.now())) {
      token.apiRequests = 0;
      token.rateLimited = 0;
    }
    tokenFailures.reset();
    apiFailures.reset();
    tokenRateLimit?.reset();
  };

  // No logger: the API routes are the hot path of load tests, and per-request logs would dominate.
  const app = Fastify({ logger: false });

  registerTokenEndpoint(app, { options, clock, tokens, codes, counters, failures: tokenFailures, rateLimit: tokenRateLimit });
  registerAuthorizeEndpoint(app, { options, clock, codes, counters });

  app.register(async (api) => {
    // Hand every request body through unread, whatever its content type: the echo route hashes it
    // as a stream, and the other API routes ignore it (Node discards it after the answer).
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    installApiGate(api, { options, clock, tokens, counters, failures: apiFailures, rateLimit });
    registerApiRoutes(api, { tokens, counters, usersById });
    registerLimitsApi(api, { options, counters });
    registerEchoRoute(api);
  });

  app.get('/__stats', async () => stats());
  registerClientSecretRoute(app, options);
  app.post('/__reset', async (_request, reply) => {
    reset();
    return reply.code(204).send();
  });

  return { app, stats, reset };
}
