import cluster from 'node:cluster';
import type { Config } from './config/types.js';
import type { Logger } from './logging.js';
import { buildServer } from './server.js';
import { runPrimary, runWorker } from './workers/cluster.js';

/**
 * Runs the proxy until SIGTERM/SIGINT: one process, or with WORKERS > 1 a primary and its workers.
 * On a signal: stop accepting, let in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS, then
 * close what is left), and exit 0.
 */
export async function runServe(config: Config, log: Logger): Promise<void> {
  if (config.workers > 1) {
    if (cluster.isPrimary) return runPrimary(config, log, (close) => drainOnSignal(config, log, close));
    await runWorker(config, log, (close) => drainOnSignal(config, log, close));
    return;
  }
  const sidecar = buildServer(config, { log });
  await sidecar.start();
  const proxyAddress = await sidecar.proxy.listen({ host: config.host, port: config.port });
  const adminAddress = await sidecar.admin.listen({ host: config.adminHost, port: config.adminPort });
  log.info(
    {
      proxy: proxyAddress,
      admin: adminAddress,
      profiles: config.profiles.map((p) => ({ name: p.name, upstream: p.upstreamUrl, tokenUrl: p.tokenUrl, grant: p.grant, poolSize: p.poolSize })),
      store: config.redisUrls.length ? `redis (${config.redisUrls.length} node${config.redisUrls.length > 1 ? 's' : ''})` : 'memory',
    },
    'token-sidecar listening',
  );
  drainOnSignal(config, log, () => sidecar.close(), () => sidecar.forceClose());
}

/** After the drain timeout has cut the remaining connections, how long the rest of close() may take. */
const FORCED_STOP_GRACE_MS = 500;

/**
 * Installs the SIGTERM/SIGINT handlers: `close` must stop accepting and resolve once in-flight work
 * is done; `force` (optional) cuts what is still open when the drain timeout passes. Exits 0 after a
 * clean drain, 1 if closing failed.
 */
function drainOnSignal(config: Config, log: Logger, close: () => Promise<void>, force?: () => void): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'draining in-flight requests');
    const timer = setTimeout(() => {
      log.warn('drain timeout reached: closing remaining connections');
      force?.();
      // A backstop: force() aborts pending upstream requests, but close() must not wait on anything
      // else that hangs (a store that stalls, a worker that does not exit).
      setTimeout(() => {
        log.warn('stopped without waiting for requests still pending upstream');
        process.exit(0);
      }, FORCED_STOP_GRACE_MS).unref();
    }, config.shutdownTimeoutMs);
    timer.unref();
    close().then(
      () => {
        clearTimeout(timer);
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
