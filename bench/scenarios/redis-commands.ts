import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop } from '../lib/closed-loop.js';
import { BenchRedis, sumOf } from '../lib/redis.js';
import type { Scenario } from '../lib/scenario.js';
import { formatNumber } from '../lib/table.js';
import { LOAD_PATH, startSidecar, type SidecarTarget } from '../lib/targets.js';

const INSTANCES = 2;
const CONNECTIONS = 200;
const DURATION_SECONDS = 10;
/** After every instance is ready, so start-up traffic (first token, subscriptions) is not counted. */
const SETTLE_MS = 1_000;

export interface RedisCommandsFigures {
  readonly instances: number;
  readonly requests: number;
  readonly calls: Record<string, number>;
  readonly totalCalls: number;
  readonly commandsPerRequest: number;
}

/**
 * Redis commands per proxied request in steady state: instances sharing Redis hold a token that
 * outlives the run (the fast upstream issues 24 h tokens), so no refresh falls inside it. Whatever
 * Redis sees then is the per-request or periodic cost of sharing.
 */
export const redisCommandsScenario: Scenario<RedisCommandsFigures> = {
  id: 'redis-commands',
  async run(ctx) {
    const redis = await BenchRedis.start();
    const sidecars: SidecarTarget[] = [];
    let figures: RedisCommandsFigures;
    try {
      const redisKeyPrefix = `bench-steady-${randomBytes(4).toString('hex')}`;
      for (let i = 1; i <= INSTANCES; i++) {
        sidecars.push(await startSidecar({ name: `sidecar ${i}`, upstreamUrl: ctx.upstream.url, redisUrl: redis.url, redisKeyPrefix }));
      }
      await sleep(SETTLE_MS);
      ctx.log(`redis commands: ${INSTANCES} instances, ${CONNECTIONS} connections, ${DURATION_SECONDS} s`);
      await redis.resetStats();
      const load = await closedLoop({ url: sidecars.map((s) => `${s.url}${LOAD_PATH}`), connections: CONNECTIONS, durationSeconds: DURATION_SECONDS });
      for (const sidecar of sidecars) sidecar.assertAlive();
      const calls = await redis.commandCalls();
      const totalCalls = sumOf(calls);
      figures = { instances: INSTANCES, requests: load.requests, calls, totalCalls, commandsPerRequest: totalCalls / Math.max(1, load.requests) };
    } finally {
      await Promise.all(sidecars.map((s) => s.stop()));
      await redis.stop();
    }
    const byCommand = Object.entries(figures.calls).sort(([, a], [, b]) => b - a);
    return {
      figures,
      section: {
        title: 'Redis commands per proxied request (steady state)',
        method:
          `${INSTANCES} sidecar instances share one Redis and hold a 24 h token; ${CONNECTIONS} connections for ` +
          `${DURATION_SECONDS} s. INFO commandstats is reset ${SETTLE_MS / 1000} s after both are ready and read after the load.`,
        tables: [
          {
            columns: ['', 'value'],
            rows: [
              ['proxied requests', formatNumber(figures.requests)],
              ['Redis commands', formatNumber(figures.totalCalls)],
              ['commands per request', figures.commandsPerRequest.toExponential(2)],
              ...byCommand.map(([command, count]) => [`  ${command}`, formatNumber(count)]),
            ],
          },
        ],
        notes: [],
      },
    };
  },
};
