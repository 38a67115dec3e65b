import cluster from 'node:cluster';
import { onSecretFileProblem } from './config/secret-file.js';
import type { Config } from './config/types.js';
import type { Logger } from './logging.js';
import { runSummary, summaryLine } from './metrics/run-summary.js';
import { buildServer, type Sidecar } from './server.js';
import { openStoreHost, redisStartProblems } from './compose.js';
import { ConfigError } from './config/load.js';
import type { IpcChannel } from './ipc/call.js';
import { answerAdminOverIpc, runPrimary } from './workers/cluster.js';

/**
 * Runs the proxy until SIGTERM/SIGINT: one process, or with WORKERS > 1 a primary and its workers.
 * This is the only place that listens and handles signals (cli.ts parses the settings and calls it).
 * One process and each worker run the same sequence: build, start, listen, drain on a signal. On a
 * signal: stop accepting, let in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS, then close
 * what is left), and exit 0.
 */
export async function runServe(config: Config, log: Logger): Promise<void> {
  // Names the setting and the file, never the content.
  onSecretFileProblem((problem) => log.warn(problem, 'a secret file changed but cannot be used: keeping the previous value'));
  if (cluster.isPrimary) {
    // A certificate or password Redis refuses never starts working by waiting: stop with the setting named.
    const problems = await redisStartProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
  }
  if (config.workers > 1 && cluster.isPrimary) {
    return runPrimary(config, log, openStoreHost(config), (close) => drainOnSignal(config, log, close));
  }
  // A worker's admin app answers through the primary, which serves the admin port for all of them.
  const worker = config.workers > 1;
  const sidecar = buildServer(config, worker ? { log: log.child({ worker: cluster.worker?.id }), primary: process as unknown as IpcChannel } : { log });
  if (worker) answerAdminOverIpc(sidecar);
  await sidecar.start();
  const proxyAddress = await listen(sidecar.proxy, 'port', config.host, config.port);
  if (!worker) announce(config, log, proxyAddress, await listen(sidecar.admin, 'adminPort', config.adminHost, config.adminPort));
  drainOnSignal(config, log, () => closeWithSummary(sidecar, log), () => sidecar.forceClose());
}

/** After the drain: what this process did over the run, in one log line (its fields in `summary`). */
async function closeWithSummary(sidecar: Sidecar, log: Logger): Promise<void> {
  await sidecar.close();
  const summary = await runSummary(sidecar.metrics);
  log.info({ summary }, `run summary: ${summaryLine(summary)}`);
}

/**
 * A port that cannot be listened on (in use, or not allowed) stops the start with exit 2 and the
 * setting named, not a stack trace: it is a setting to change, like any other bad setting.
 */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

async function listen(app: Sidecar['proxy'], setting: 'port' | 'adminPort', host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const label = setting === 'port' ? 'PORT (--port)' : 'ADMIN_PORT (--admin-port)';
    const hostLabel = setting === 'port' ? 'HOST (--host)' : 'ADMIN_HOST (--admin-host)';
    if (code === 'EADDRINUSE') throw new ListenError(`${label}: ${host}:${port} is already in use by another process; choose another port (0 picks a free one)`);
    if (code === 'EACCES') throw new ListenError(`${label}: not allowed to listen on ${host}:${port} (ports below 1024 need privileges); choose another port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ListenError(`${hostLabel}: ${host} is not an address of this machine`);
    throw err;
  }
}

function announce(config: Config, log: Logger, proxyAddress: string, adminAddress: string): void {
  log.info(
    {
      proxy: proxyAddress,
      admin: adminAddress,
      profiles: config.profiles.map((p) => ({ name: p.name, upstream: p.upstreamUrl, tokenUrl: p.tokenUrl, grant: p.grant, poolSize: p.poolSize, ...(p.members && { members: p.members }) })),
      store: storeDescription(config),
    },
    'token-sidecar listening',
  );
}

function storeDescription(config: Config): string {
  const target = config.redis?.target;
  if (!target) return 'memory';
  const tls = config.redis?.tls ? ', TLS' : '';
  switch (target.mode) {
    case 'nodes':
      return `redis (${target.urls.length} node${target.urls.length > 1 ? 's, Redlock' : ''}${tls})`;
    case 'sentinel':
      return `redis (Sentinel ${target.name}, ${target.sentinels.length} sentinels${tls})`;
    case 'cluster':
      return `redis (Cluster, ${target.seeds.length} seed${target.seeds.length > 1 ? 's' : ''}${tls})`;
  }
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
