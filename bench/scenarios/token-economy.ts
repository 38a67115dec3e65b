import { randomBytes } from 'node:crypto';
import { freePort, startCli, waitForHttp } from '../lib/children.js';
import { closedLoop } from '../lib/closed-loop.js';
import { BenchRedis, sumOf } from '../lib/redis.js';
import type { Scenario } from '../lib/scenario.js';
import { formatNumber } from '../lib/table.js';
import { LOAD_PATH, startSidecar, type SidecarTarget } from '../lib/targets.js';

const TOKEN_LIFETIME_SECONDS = 2;
const REFRESH_AT = 0.8;
const CLIENTS = 200;
const DURATION_SECONDS = 12;
const INSTANCE_COUNTS = [1, 2, 4];

export interface TokenEconomyRow {
  readonly instances: number;
  readonly clients: number;
  /** From the first instance's start to the end of the load: the span token requests are counted over. */
  readonly windowSeconds: number;
  readonly requests: number;
  readonly clientNon2xx: number;
  readonly tokenRequests: number;
  /** One token at start, then one per REFRESH_AT × lifetime, for the whole fleet. */
  readonly ideal: number;
  /** 401s the upstream answered: requests sent with a just-revoked token, replayed by the sidecar. */
  readonly upstream401: number;
  readonly redisCommands: number;
}

export interface TokenEconomyFigures {
  readonly tokenLifetimeSeconds: number;
  readonly refreshAt: number;
  readonly rows: readonly TokenEconomyRow[];
}

interface MockStats {
  tokenRequests: { total: number };
  api: { byStatus: Record<string, number> };
}

/**
 * Token economy: N sidecar instances sharing one Redis, under load, against the Genesys mock with
 * short tokens and revoke-on-issue (so an instance that is late to learn of a refresh gets 401s).
 * Counts the token requests the mock saw against the ideal for the whole fleet.
 */
export const tokenEconomyScenario: Scenario<TokenEconomyFigures> = {
  id: 'token-economy',
  async run(ctx) {
    const mockPort = await freePort();
    const mockChild = startCli('mock', ['mock', '--host', '127.0.0.1', '--port', String(mockPort), '--token-lifetime', String(TOKEN_LIFETIME_SECONDS), '--revoke-on-issue'], {});
    const mockUrl = `http://127.0.0.1:${mockPort}`;
    const redis = await BenchRedis.start();
    const rows: TokenEconomyRow[] = [];
    try {
      await waitForHttp(`${mockUrl}/__stats`, mockChild);
      for (const instances of INSTANCE_COUNTS) {
        ctx.log(`token economy: ${instances} instance(s), ${CLIENTS} clients, ${DURATION_SECONDS} s`);
        rows.push(await measure(instances, mockUrl, redis));
      }
    } finally {
      await redis.stop();
      await mockChild.stop();
    }
    return {
      figures: { tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS, refreshAt: REFRESH_AT, rows },
      section: {
        title: 'Token economy',
        method:
          `N sidecar instances share one Redis; the mock's tokens live ${TOKEN_LIFETIME_SECONDS} s and each new token revokes ` +
          `the older ones; REFRESH_AT=${REFRESH_AT}. autocannon spreads ${CLIENTS} connections over the instances for ` +
          `${DURATION_SECONDS} s (GET ${LOAD_PATH}). Token requests are the mock's count from the first instance's start to ` +
          `the end of the load; ideal = 1 + floor(window / (${REFRESH_AT} × ${TOKEN_LIFETIME_SECONDS} s)) for the whole fleet. ` +
          '"Without sharing" is what the instances would need if each kept its own token.',
        tables: [
          {
            columns: ['instances', 'clients', 'window s', 'requests', 'client non-2xx', 'token requests', 'ideal', 'ratio', 'without sharing', 'upstream 401s (replayed)', 'Redis commands'],
            rows: rows.map((row) => [
              String(row.instances),
              String(row.clients),
              formatNumber(row.windowSeconds, 1),
              formatNumber(row.requests),
              formatNumber(row.clientNon2xx),
              formatNumber(row.tokenRequests),
              formatNumber(row.ideal),
              formatNumber(row.tokenRequests / row.ideal, 2),
              formatNumber(row.ideal * row.instances),
              formatNumber(row.upstream401),
              formatNumber(row.redisCommands),
            ]),
          },
        ],
        notes: [],
      },
    };
  },
};

async function measure(instances: number, mockUrl: string, redis: BenchRedis): Promise<TokenEconomyRow> {
  // A fresh key prefix: each row starts with no token in the store, as a new fleet would.
  const redisKeyPrefix = `bench-economy-${randomBytes(4).toString('hex')}`;
  await fetch(`${mockUrl}/__reset`, { method: 'POST' });
  await redis.resetStats();
  const startedAt = performance.now();
  const sidecars: SidecarTarget[] = [];
  try {
    await Promise.all(
      Array.from({ length: instances }, async (_, i) => {
        sidecars.push(await startSidecar({ name: `sidecar ${i + 1}`, upstreamUrl: mockUrl, redisUrl: redis.url, redisKeyPrefix, refreshAt: REFRESH_AT }));
      }),
    );
    const load = await closedLoop({ url: sidecars.map((s) => `${s.url}${LOAD_PATH}`), connections: CLIENTS, durationSeconds: DURATION_SECONDS });
    const windowSeconds = (performance.now() - startedAt) / 1000;
    for (const sidecar of sidecars) sidecar.assertAlive();
    const stats = (await (await fetch(`${mockUrl}/__stats`)).json()) as MockStats;
    return {
      instances,
      clients: CLIENTS,
      windowSeconds,
      requests: load.requests,
      clientNon2xx: load.non2xx + load.errors,
      tokenRequests: stats.tokenRequests.total,
      ideal: 1 + Math.floor(windowSeconds / (REFRESH_AT * TOKEN_LIFETIME_SECONDS)),
      upstream401: stats.api.byStatus['401'] ?? 0,
      redisCommands: sumOf(await redis.commandCalls()),
    };
  } finally {
    await Promise.all(sidecars.map((s) => s.stop()));
  }
}
