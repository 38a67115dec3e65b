import { DEMO_RATE_LIMIT } from './options.js';
import { randomBytes } from 'node:crypto';
import { freePort, startCli } from '../harness/child-processes.js';
import { waitForHttp } from '../harness/wait-for.js';

export interface RunningSidecar {
  readonly pid: number;
  /** Where clients send their requests. */
  readonly url: string;
  readonly adminUrl: string;
}

export interface SidecarFleetOptions {
  readonly instances: number;
  /** The mock: API base and token endpoint host. */
  readonly upstreamUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Shared store for the instances; empty = each keeps its token in memory. */
  readonly redisUrls: readonly string[];
  /** TOKEN_POOL_SIZE; unset: the sidecar's default. */
  readonly poolSize?: 'auto' | number;
}

/**
 * Starts real sidecar processes (`node dist/cli.js`) on free loopback ports and resolves once every
 * one holds a token (/readyz). Instances sharing Redis get a key prefix of their own, so the demo
 * neither reads nor disturbs a real sidecar's tokens on the same Redis. The caller stops them
 * (stopAllProcesses()).
 */
export async function startSidecars(opts: SidecarFleetOptions): Promise<RunningSidecar[]> {
  const keyPrefix = `token-sidecar-demo-${randomBytes(4).toString('hex')}`;
  const started = await Promise.all(
    Array.from({ length: opts.instances }, async (_, i) => {
      const [port, adminPort] = [await freePort(), await freePort()];
      const env = {
        GENESYSCLOUD_OAUTHCLIENT_ID: opts.clientId,
        GENESYSCLOUD_OAUTHCLIENT_SECRET: opts.clientSecret,
        UPSTREAM_URL: opts.upstreamUrl,
        TOKEN_URL: `${opts.upstreamUrl}/oauth/token`,
        HOST: '127.0.0.1',
        PORT: String(port),
        ADMIN_PORT: String(adminPort),
        LOG_LEVEL: 'warn',
        // The mock stands in for Genesys (whose per-token limit the sidecar knows) on a shorter window.
        OAUTH_PROVIDER: 'genesys',
        RATE_LIMIT_WINDOW_S: String(DEMO_RATE_LIMIT.perTokenWindowMs / 1000),
        ...(opts.poolSize !== undefined ? { TOKEN_POOL_SIZE: String(opts.poolSize) } : {}),
        ...(opts.redisUrls.length > 0 ? { REDIS_URL: opts.redisUrls.join(','), REDIS_KEY_PREFIX: keyPrefix } : {}),
      };
      const child = startCli([], { name: `sidecar ${i + 1}`, env });
      return { child, url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}` };
    }),
  );
  await Promise.all(started.map(({ child, adminUrl }) => waitForHttp(`${adminUrl}/readyz`, { process: child })));
  return started.map(({ child, url, adminUrl }) => ({ pid: child.pid, url, adminUrl }));
}
