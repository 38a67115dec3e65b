import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { Agent } from 'undici';
import { adminRoutes } from './admin/routes.js';
import { RunBrakes } from './brakes/run-brakes.js';
import type { Config } from './config/types.js';
import { buildProfiles, openBackends, type Backends } from './compose.js';
import type { IpcChannel } from './ipc/call.js';
import type { TokenProfiles } from './pool/profiles.js';
import type { Logger } from './logging.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { PROFILE_HEADER, proxyPlugin } from './proxy/plugin.js';
import { Intercepted } from './proxy/intercepted.js';
import { tokenInterceptor } from './proxy/token-interceptor.js';
import { upstreamMeter } from './proxy/upstream-meter.js';
import type { TokenStore } from './store/store.js';
import { systemClock, type Clock } from './token/clock.js';

export interface ServerDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  /** The store and lock (tests); default: what compose.ts openBackends picks for this process. */
  readonly backends?: Backends;
  /** A worker's channel to its primary (WORKERS > 1): without Redis, the store and lock are the primary's. */
  readonly primary?: IpcChannel;
  readonly registry?: Registry;
  readonly instanceId?: string;
  readonly random?: () => number;
}

export interface Sidecar {
  readonly proxy: FastifyInstance;
  readonly admin: FastifyInstance;
  readonly profiles: TokenProfiles;
  readonly store: TokenStore;
  readonly metrics: Metrics;
  /** The run's brakes: MAX_REQUESTS, the fleet's halt switch, TEST_WINDOW. */
  readonly brakes: RunBrakes;
  readonly instanceId: string;
  /** Subscribes to the store and starts fetching tokens (in the background). */
  start(): Promise<void>;
  /** Stops token timers and closes both apps (in-flight requests finish), the upstream connection pool, the store and the lock. */
  close(): Promise<void>;
  /** For a drain that timed out: cuts client connections and aborts what is still pending upstream. */
  forceClose(): void;
}

/** Fastify on our logger without its per-request info lines (ours are at debug level, in the proxy). */
export function quietFastifyLogging(log: Logger) {
  return { loggerInstance: log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) };
}

/**
 * Builds the sidecar of one process from its parts: metrics, the token lifecycle (compose.ts), the
 * proxy and admin apps. Returns them without listening: serve.ts listens and handles signals;
 * tests build this with real parts and listen on port 0.
 */
export function buildServer(config: Config, deps: ServerDeps): Sidecar {
  const clock = deps.clock ?? systemClock;
  const instanceId = deps.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = deps.log.child({ instance: instanceId });
  const metrics = createMetrics(deps.registry ?? new Registry());
  const backends = deps.backends ?? openBackends(config, log, deps.primary && { channel: deps.primary });
  const { store, lock } = backends;

  metrics.redisUp.set(store.available ? 1 : 0);
  store.onAvailabilityChange((up: boolean) => metrics.redisUp.set(up ? 1 : 0));

  const profiles = buildProfiles(config, { store, lock, clock, metrics, log, instanceId, random: deps.random, sharedStore: backends.shared === true });
  const brakes = new RunBrakes(config, { store, clock, metrics, log });

  const upstreamPool = new Agent({
    connections: config.upstreamConnections,
    keepAliveTimeout: 30_000,
    headersTimeout: config.upstreamTimeoutMs,
    bodyTimeout: config.upstreamTimeoutMs,
  });
  const dispatcher = new Intercepted(upstreamPool, tokenInterceptor({
    meter: upstreamMeter(metrics, { serverTiming: config.serverTiming }),
    replayBodyLimitBytes: config.replayBodyLimitBytes,
    mayReplay: () => brakes.mayReplay(),
    now: () => clock.now(),
  }));

  const proxy = Fastify({
    ...quietFastifyLogging(log),
    // A per-request child logger (request id binding) costs ~1.5 µs a request; only debug level has
    // per-request lines, so below it every request shares the parent logger.
    ...(log.isLevelEnabled('debug') ? {} : { childLoggerFactory: (logger: FastifyBaseLogger) => logger }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: 'x-request-id',
  });
  void proxy.register(proxyPlugin, { config, poolOf: (profile) => profiles.pool(profile), dispatcher, gate: brakes });
  // Every answer a client gets, the sidecar's own included (also those Fastify gives before routing):
  // a plain tally write, in a callback hook so no promise is made per request.
  const { clientStatuses } = metrics;
  proxy.addHook('onResponse', (request, reply, done) => {
    clientStatuses.count(reply.statusCode, request.answeredByUpstream === true ? 'upstream' : 'sidecar');
    done();
  });
  if (log.isLevelEnabled('debug')) {
    proxy.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        { method: request.method, path: request.url.split('?')[0], profile: request.headers[PROFILE_HEADER], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'proxied',
      );
    });
  }

  const admin = Fastify({ ...quietFastifyLogging(log), forceCloseConnections: true });
  void admin.register(adminRoutes, { config, profiles, metrics, store, brakes, instanceId, storeKind: backends.kind });

  return {
    proxy,
    admin,
    profiles,
    store,
    metrics,
    brakes,
    instanceId,
    async start() {
      await Promise.all([proxy.ready(), admin.ready()]);
      await brakes.start();
      await profiles.start();
    },
    forceClose() {
      proxy.server.closeAllConnections();
      void upstreamPool.destroy().catch(() => {});
    },
    async close() {
      brakes.stop();
      await profiles.stop();
      await proxy.close();
      await admin.close();
      // Rejects only when forceClose() already destroyed the pool: nothing is left to close then.
      await upstreamPool.close().catch(() => {});
      await store.close();
      await backends.lock.close();
    },
  };
}
