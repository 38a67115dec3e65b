/**
 * Sidecar processes sharing one token through a Redis store, against the mock run in this process
 * so the test sees every token request arrive (time and status). The mock revokes a client's older
 * tokens on issue, as the harshest provider would: a token request where none was needed cuts off
 * the token the rest of the fleet is sending.
 *
 * One token per profile (TOKEN_POOL_SIZE=1), so the ideal is exactly one token request per refresh
 * interval for the whole fleet.
 */
import { after } from 'node:test';
import type { Dispatcher } from 'undici';
import { getStatus } from '../../src/demo/load.js';
import { waitFor } from '../../src/harness/wait-for.js';
import { buildMockUpstream } from '../../src/mock/app.js';
import type { MockOptions } from '../../src/mock/options.js';
import { API_LATENCY_MS } from './api-latency.js';
import { startSidecar, type RunningProcess } from './processes.js';

/** As the fleet test: a rotation every 2.4 s, with a second of slack for a starved machine. */
export const LIFETIME_S = 4;
export const REFRESH_AT = 0.6;
export const REFRESH_INTERVAL_MS = LIFETIME_S * 1000 * REFRESH_AT;
/**
 * For failover tests: the same 2.4 s rotation, but 12 s tokens stay fresh for 8 s after it is due,
 * time for Sentinel or the cluster to promote a replica while the fleet rides out on the held token.
 */
export const FAILOVER_TOKENS = { lifetimeS: 12, refreshAt: 0.2 } as const;
/** A wait for a few refreshes on a busy machine. */
export const REFRESH_WAIT = { timeoutMs: 30_000, intervalMs: 50 };

export interface TokenRequestSeen {
  /** performance.now() when the mock answered. */
  readonly at: number;
  readonly status: number;
}

export interface Sidecar {
  readonly proc: RunningProcess;
  readonly url: string;
  readonly adminUrl: string;
}

export interface TokenFleet {
  readonly mockUrl: string;
  readonly sidecars: Sidecar[];
  readonly tokenRequests: TokenRequestSeen[];
  /** Resolves once the mock has answered `count` more token requests than now. */
  refreshes(count: number, what: string): Promise<void>;
  /** The token requests so far against the one-token ideal (tokenFigures). */
  figures(): ReturnType<typeof tokenFigures>;
  /** Each sidecar's token_sidecar_redis_up (1: it works through the store). */
  redisUp(): Promise<number[]>;
  /** One client request through sidecar `index % n`, as the load's step. */
  step(index: number, dispatcher: Dispatcher): Promise<number>;
}

export interface TokenFleetOptions {
  readonly instances?: number;
  readonly lifetimeS?: number;
  readonly refreshAt?: number;
  readonly mock?: Partial<MockOptions>;
}

export async function startTokenFleet(env: Record<string, string>, opts: TokenFleetOptions = {}): Promise<TokenFleet> {
  const lifetimeS = opts.lifetimeS ?? LIFETIME_S;
  const refreshAt = opts.refreshAt ?? REFRESH_AT;
  const mock = buildMockUpstream({ tokenLifetimeSeconds: lifetimeS, revokeOnIssue: true, apiLatencyMs: API_LATENCY_MS, ...opts.mock });
  const tokenRequests: TokenRequestSeen[] = [];
  mock.app.addHook('onResponse', async (request, reply) => {
    if (request.url.startsWith('/oauth/token')) tokenRequests.push({ at: performance.now(), status: reply.statusCode });
  });
  const mockUrl = await mock.app.listen({ port: 0, host: '127.0.0.1' });
  after(() => mock.app.close());
  const sidecars = await Promise.all(
    Array.from({ length: opts.instances ?? 2 }, async () => {
      const sidecar = await startSidecar(mockUrl, { REFRESH_AT: String(refreshAt), TOKEN_POOL_SIZE: '1', ...env });
      after(() => sidecar.proc.stop('SIGKILL'));
      return sidecar;
    }),
  );
  return {
    mockUrl,
    sidecars,
    tokenRequests,
    async refreshes(count, what) {
      const target = tokenRequests.length + count;
      await waitFor(() => tokenRequests.length >= target, { ...REFRESH_WAIT, what });
    },
    figures: () => tokenFigures(tokenRequests, lifetimeS * 1000 * refreshAt),
    redisUp: () =>
      Promise.all(
        sidecars.map(async ({ adminUrl }) => Number(/^token_sidecar_redis_up (\d+)/m.exec(await (await fetch(`${adminUrl}/metrics`)).text())?.[1])),
      ),
    step: (index, dispatcher) => getStatus(dispatcher, `${sidecars[index % sidecars.length]!.url}/api/v2/tokens/me`),
  };
}

/**
 * The fleet's token requests against the one-token ideal: `ideal` is one first token plus one per
 * refresh interval that has passed since it (jitter only ever delays a refresh, so more than that is
 * a wasted request); `closestMs` is the shortest time between two token requests (two instances
 * fetching for one refresh would be milliseconds apart).
 */
export function tokenFigures(requests: readonly TokenRequestSeen[], intervalMs: number, endedAt = performance.now()) {
  const first = requests[0]?.at ?? endedAt;
  const gaps = requests.slice(1).map((request, i) => request.at - requests[i]!.at);
  return {
    tokenRequests: requests.length,
    ideal: 1 + Math.floor((endedAt - first) / intervalMs),
    closestMs: gaps.length > 0 ? Math.round(Math.min(...gaps)) : null,
    non200: requests.filter((request) => request.status !== 200).length,
  };
}
