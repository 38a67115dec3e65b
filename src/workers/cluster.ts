import cluster, { type Worker } from 'node:cluster';
import Fastify from 'fastify';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/types.js';
import type { IpcBackendHost } from '../ipc/backend-host.js';
import { IpcCaller } from '../ipc/call.js';
import { isMessage, type AdminReply, type AdminRequest } from '../ipc/protocol.js';
import type { Logger } from '../logging.js';
import { quietFastifyLogging, type Sidecar } from '../server.js';

/**
 * WORKERS > 1: the primary forks the workers, which all listen on the proxy port (node:cluster
 * shares it) and share tokens like separate instances do: through Redis when configured, otherwise
 * through the primary's in-memory store over IPC (`storeHost`). The primary serves the admin port:
 * /metrics aggregates every worker's registry; /readyz, /token and POST /token/refresh are answered
 * by the workers' own admin apps (in-process inject, see `answerAdminOverIpc`), so both modes share
 * one implementation. A worker runs the same start/listen/drain sequence as a single process (serve.ts).
 */
export async function runPrimary(config: Config, log: Logger, storeHost: IpcBackendHost | undefined, drain: (close: () => Promise<void>) => void): Promise<void> {
  await storeHost?.start();
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  /** Each worker with the caller that asks its admin app. */
  const workers = new Map<Worker, IpcCaller<AdminReply>>();

  const fork = () => {
    const worker = cluster.fork();
    workers.set(worker, new IpcCaller<AdminReply>(worker, 'admin-reply', ADMIN_TIMEOUT_MS));
    const detach = storeHost?.attach(worker, () => worker.isConnected());
    let listened = false;
    worker.once('listening', () => (listened = true));
    worker.on('exit', (code, signal) => {
      detach?.();
      workers.delete(worker);
      if (stopping) return;
      // Exit 2 before listening is a setting the worker could not start with (a PORT in use): it has
      // said which on stderr, and a new worker would meet the same.
      if (!listened && code === 2) {
        log.error({ worker: worker.id }, 'a worker could not start with these settings: stopping');
        process.exit(2);
      }
      log.error({ worker: worker.id, code, signal }, 'worker exited unexpectedly: starting a new one');
      setTimeout(fork, 500).unref();
    });
  };
  for (let i = 0; i < config.workers; i++) fork();
  await Promise.all([...workers.keys()].map((worker) => new Promise((resolve) => worker.once('listening', resolve))));

  const admin = Fastify({ ...quietFastifyLogging(log), forceCloseConnections: true });
  admin.get('/metrics', async (_request, reply) => reply.header('content-type', aggregator.contentType).send(await aggregator.clusterMetrics()));
  admin.get('/healthz', async () => ({ status: 'ok', workers: workers.size }));
  admin.all('/*', async (request, reply) => {
    const targets = request.method === 'POST' ? [...workers].slice(0, 1) : [...workers];
    const answers = await Promise.all(targets.map(([worker, caller]) => askWorker(worker, caller, request.method, request.url, request.headers)));
    const failed = answers.find((answer) => answer.status >= 400);
    if (targets.length === 1) return reply.code(answers[0]!.status).send(answers[0]!.body);
    return reply.code(failed?.status ?? 200).send({ workers: answers.map((answer) => answer.body) });
  });
  const adminAddress = await admin.listen({ host: config.adminHost, port: config.adminPort });
  log.info({ workers: config.workers, port: config.port, admin: adminAddress, store: storeHost ? 'memory (primary)' : 'redis' }, 'token-sidecar primary: workers listening');

  drain(async () => {
    stopping = true;
    await admin.close();
    await Promise.all(
      [...workers.keys()].map((worker) => new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.process.kill('SIGTERM');
      })),
    );
    await storeHost?.close();
  });
}

const ADMIN_TIMEOUT_MS = 15_000;

/** Forwards one admin request to a worker's own admin app; a worker that does not answer is a 504. */
async function askWorker(worker: Worker, caller: IpcCaller<AdminReply>, method: string, url: string, headers: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  try {
    return (await caller.call({ t: 'admin', method, url, headers } satisfies Omit<AdminRequest, 'id'>, `admin ${method} ${url}`)).value;
  } catch {
    return { status: 504, body: { error: 'worker_timeout', message: `worker ${worker.id} did not answer` } };
  }
}

/**
 * A worker's half of the admin port: answers the primary's forwarded admin requests with its own
 * admin app (which never listens in a worker), and hands its metrics registry to the primary's scrape.
 */
export function answerAdminOverIpc(sidecar: Sidecar): void {
  // Constructing one installs prom-client's worker-side listener that answers the primary's scrape.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([sidecar.metrics.registry]);
  process.on('message', (message: unknown) => {
    if (!isMessage<AdminRequest>(message, 'admin')) return;
    const { method, url, headers } = message;
    sidecar.admin
      .inject({ method: method as 'GET', url, headers: headers as Record<string, string> })
      .then((response) => ({ status: response.statusCode, body: safeJson(response.body) }))
      .catch((err: Error) => ({ status: 500, body: { error: 'worker_error', message: err.message } }))
      .then((value) => process.send?.({ t: 'admin-reply', id: message.id, value } satisfies AdminReply));
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
