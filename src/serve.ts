import type { Config } from './config/types.js';
import type { Logger } from './logging.js';
import { buildServer } from './server.js';

/**
 * Runs the proxy in this process until SIGTERM/SIGINT: listen on both ports, then on a signal stop
 * accepting, let in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), and exit 0.
 */
export async function runServe(config: Config, log: Logger): Promise<void> {
  const sidecar = buildServer(config, { log });
  await sidecar.start();
  const proxyAddress = await sidecar.proxy.listen({ host: config.host, port: config.port });
  const adminAddress = await sidecar.admin.listen({ host: config.adminHost, port: config.adminPort });
  log.info(
    { proxy: proxyAddress, admin: adminAddress, profiles: config.profiles.map((p) => ({ name: p.name, upstream: p.upstreamUrl, tokenUrl: p.tokenUrl, grant: p.grant, poolSize: p.poolSize })), store: config.redisUrls.length ? `redis (${config.redisUrls.length} node${config.redisUrls.length > 1 ? 's' : ''})` : 'memory' },
    'token-sidecar listening',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'draining in-flight requests');
    const force = setTimeout(() => {
      log.warn('drain timeout reached: closing remaining connections');
      sidecar.proxy.server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    force.unref();
    sidecar.close().then(
      () => {
        clearTimeout(force);
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
