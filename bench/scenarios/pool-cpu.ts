import { request } from 'undici';
import { parseSamples } from '../../src/demo/sidecar-metrics.js';
import { compareCpu, cpuCells, cpuColumns, type CpuRow } from '../lib/cpu-together.js';
import type { Scenario } from '../lib/scenario.js';
import { formatNumber } from '../lib/table.js';
import { LOAD_PATH, startFastUpstream, startSidecar, type SidecarTarget, type Upstream } from '../lib/targets.js';

/**
 * The rate each sidecar gets. CPU per request depends on the rate (at a higher one, more answers
 * share each event-loop turn and each write), so every sidecar gets the same one; and all three are
 * loaded at the same time, so whatever else the shared machine is doing weighs on all of them alike.
 * Measured one after the other, rounds of the same sidecar differed by a third or more: far more than
 * the 5% this scenario has to resolve.
 */
const RATE = 500;
/** Upper bound of concurrent connections to each sidecar. */
const CONNECTIONS = 100;
/** Slots of the pool under test: several, so choosing the one with the most budget is real work. */
const POOL_SLOTS = 16;
const ROUNDS = 4;
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 8;

export type PoolCpuTargetId = 'single' | 'single-headers' | 'pool';

export interface PoolCpuRow extends CpuRow<PoolCpuTargetId> {
  /** Slots whose token_sidecar_rate_limit_remaining the sidecar reported at the end: the slots that served. */
  readonly slotsReporting: number;
}

export interface PoolCpuFigures {
  readonly requestsPerSecond: number;
  readonly poolSlots: number;
  readonly rounds: number;
  readonly measureSeconds: number;
  readonly rows: readonly PoolCpuRow[];
  /** pool / single, CPU per request: the target says at most 1.05. */
  readonly poolOverSingle: number;
}

/**
 * CPU per proxied request with the token pool against today's single-token path, same run, same
 * load at the same time. Three sidecars: one token against the plain fast upstream (the path
 * every other scenario measures); one token against an upstream that sends Genesys's rate-limit
 * headers on every answer (what reading the counters costs); and a fixed pool of POOL_SLOTS tokens
 * against that upstream (budget routing over every slot on every request). The allowance is never
 * reached, so no request meets a 429: this is the steady-state cost of the pool, not of its replays.
 */
export const poolCpuScenario: Scenario<PoolCpuFigures> = {
  id: 'pool-cpu',
  async run(ctx) {
    const withHeaders = await startFastUpstream({ rateLimitHeaders: true });
    const targets: [PoolCpuTargetId, SidecarTarget][] = [];
    try {
      const start = (id: PoolCpuTargetId, name: string, upstream: Upstream, poolSize: number) =>
        startSidecar({ upstreamUrl: upstream.url, workers: '1', poolSize: String(poolSize), name }).then((t) => targets.push([id, t]));
      await start('single', 'one token, no rate-limit headers', ctx.upstream, 1);
      await start('single-headers', 'one token, rate-limit headers', withHeaders, 1);
      await start('pool', `pool of ${POOL_SLOTS}, rate-limit headers`, withHeaders, POOL_SLOTS);

      const compared = await compareCpu(targets, {
        requestsPerSecond: RATE, connections: CONNECTIONS, warmupSeconds: WARMUP_SECONDS, measureSeconds: MEASURE_SECONDS,
        rounds: ROUNDS, label: 'pool-cpu', log: ctx.log,
      });
      const rows: PoolCpuRow[] = [];
      for (const [i, row] of compared.entries()) rows.push({ ...row, slotsReporting: await slotsReporting(targets[i]![1]) });
      const cpu = (id: PoolCpuTargetId) => rows.find((row) => row.id === id)!.cpuMicrosecondsPerRequest;
      const figures: PoolCpuFigures = {
        requestsPerSecond: RATE,
        poolSlots: POOL_SLOTS,
        rounds: ROUNDS,
        measureSeconds: MEASURE_SECONDS,
        rows,
        poolOverSingle: cpu('pool') / cpu('single'),
      };
      return { figures, section: section(figures) };
    } finally {
      await Promise.all(targets.map(([, target]) => target.stop()));
      await withHeaders.stop();
    }
  },
};

/** How many slots the sidecar reports a remaining budget for: with headers, the slots that served requests. */
async function slotsReporting(target: SidecarTarget): Promise<number> {
  const response = await request(`${target.adminUrl}/metrics`);
  const text = await response.body.text();
  return parseSamples(text, 'token_sidecar_rate_limit_remaining').length;
}

function section(figures: PoolCpuFigures) {
  const single = figures.rows.find((row) => row.id === 'single')!.cpuMicrosecondsPerRequest;
  return {
    title: `CPU per request with the token pool (${figures.poolSlots} slots) against one token`,
    method:
      `An undici open-loop generator sends GET ${LOAD_PATH} at a fixed ${formatNumber(RATE)} req/s (up to ${CONNECTIONS} connections) ` +
      `to each of three sidecar processes (WORKERS=1) at the same time, so other work on the machine weighs on all three alike. ` +
      `${ROUNDS} rounds of ${WARMUP_SECONDS} s warm-up and ${MEASURE_SECONDS} s measured (${formatNumber(RATE * MEASURE_SECONDS)} requests each). ` +
      'CPU µs/request: user + system CPU time of the sidecar over all its measured requests, from /proc. One token ' +
      `(TOKEN_POOL_SIZE=1) against the plain fast upstream is the path every other scenario measures; the pool is TOKEN_POOL_SIZE=${figures.poolSlots} ` +
      'against a second fast upstream sending Genesys\'s inin-ratelimit-allowed/count/reset per token on every answer, with an allowance ' +
      'no run reaches, so every request is routed by budget and none meets a 429.',
    tables: [
      {
        columns: [...cpuColumns('one token'), 'slots reporting budget'],
        rows: figures.rows.map((row) => [...cpuCells(row, single), String(row.slotsReporting)]),
      },
    ],
    notes: [],
  };
}
