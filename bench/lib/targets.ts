import { freePort, startBenchServer, startChild, startCli, waitForHttp, type Child } from './children.js';
import { startNginx } from './nginx.js';

/** Something the load is sent to: the upstream itself (direct) or a proxy in front of it. */
export interface Target {
  readonly name: string;
  /** Base URL for the load. */
  readonly url: string;
  /** The process serving it; its descendants (workers) count too when sampling memory. */
  readonly pid: number;
  stop(): Promise<void>;
  /** Throws, with the process's last output, if it has ended: a dead target must not read as a slow one. */
  assertAlive(): void;
}

export interface Upstream extends Target {
  readonly port: number;
}

/** The path every benchmark sends: the Genesys "who am I" call, as in the demo. */
export const LOAD_PATH = '/api/v2/tokens/me';
/**
 * Sent on every request to every target: direct needs it, the proxies replace it (the sidecar strips
 * it and injects its own), so every target receives the same request bytes.
 */
export const LOAD_HEADERS = { authorization: 'Bearer bench-direct-token' };

function targetOf(name: string, url: string, child: Child): Target {
  return {
    name,
    url,
    pid: child.pid,
    stop: async () => {
      await child.stop();
    },
    assertAlive() {
      if (child.ended) throw new Error(`${name} (pid ${child.pid}) ended during the benchmark:\n${child.output()}`);
    },
  };
}

/**
 * `rateLimitHeaders`: every answer carries Genesys's `inin-ratelimit-*` counters per token, with an
 * allowance no run reaches (see bench/servers/fast-upstream.mjs).
 */
export async function startFastUpstream(opts: { readonly rateLimitHeaders?: boolean } = {}): Promise<Upstream> {
  const port = await freePort();
  const name = opts.rateLimitHeaders ? 'fast upstream with rate-limit headers' : 'fast upstream';
  const child = startBenchServer(name, 'fast-upstream.mjs', [String(port), ...(opts.rateLimitHeaders ? ['rate-limit-headers'] : [])]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, child);
  return { ...targetOf('direct', url, child), port };
}

/** `nodeArgs`: Node flags such as --cpu-prof. */
export async function startBareProxy(upstream: Upstream, nodeArgs: readonly string[] = []): Promise<Target> {
  const port = await freePort();
  const child = startBenchServer('bare proxy', 'bare-proxy.mjs', [String(port), upstream.url], {}, nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, child);
  return targetOf('bare @fastify/http-proxy', url, child);
}

/** nginx in front of the upstream; check nginxVersion() first. */
export async function startNginxProxy(upstream: Upstream): Promise<Target> {
  const port = await freePort();
  const child = startNginx(port, upstream.port);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, child);
  return targetOf('nginx', url, child);
}

export interface SidecarOptions {
  readonly name?: string;
  /** API base; its /oauth/token is the token endpoint unless `tokenUrl` says otherwise. */
  readonly upstreamUrl: string;
  readonly workers?: string;
  readonly redisUrl?: string;
  readonly redisKeyPrefix?: string;
  readonly refreshAt?: number;
  /** TOKEN_POOL_SIZE; unset: the default. */
  readonly poolSize?: string;
  /** Node flags before dist/cli.js, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** Another build's cli.js instead of this checkout's dist/cli.js (bench/ab.ts compares two builds). */
  readonly cliPath?: string;
  /** Further settings, e.g. SERVER_TIMING. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface SidecarTarget extends Target {
  readonly adminUrl: string;
}


/** `node dist/cli.js` on free ports; resolves once it holds a token (/readyz). */
export async function startSidecar(opts: SidecarOptions): Promise<SidecarTarget> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
    GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: opts.upstreamUrl,
    TOKEN_URL: `${opts.upstreamUrl}/oauth/token`,
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    LOG_LEVEL: 'warn',
    WORKERS: opts.workers ?? '1',
  };
  if (opts.redisUrl) env.REDIS_URL = opts.redisUrl;
  if (opts.redisKeyPrefix) env.REDIS_KEY_PREFIX = opts.redisKeyPrefix;
  if (opts.refreshAt) env.REFRESH_AT = String(opts.refreshAt);
  if (opts.poolSize) env.TOKEN_POOL_SIZE = opts.poolSize;
  Object.assign(env, opts.env);
  const name = opts.name ?? `sidecar (WORKERS=${env.WORKERS})`;
  const child = opts.cliPath === undefined ? startCli(name, [], env, opts.nodeArgs) : startChild(name, process.execPath, [...(opts.nodeArgs ?? []), opts.cliPath], env);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitForHttp(`${adminUrl}/readyz`, child);
  return { ...targetOf(name, `http://127.0.0.1:${port}`, child), adminUrl };
}
