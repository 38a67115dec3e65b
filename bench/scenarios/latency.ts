import { openLoop, type OpenLoopResult } from '../lib/open-loop.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { cpuMillisecondsOfTree } from '../lib/process-stats.js';
import { median, sum } from '../lib/statistics.js';
import { DASH, formatNumber } from '../lib/table.js';
import { LOAD_HEADERS, LOAD_PATH, startBareProxy, startSidecar, type Target } from '../lib/targets.js';

const RATE = 1_000;
/** Interleaved rounds, median shown: as for throughput, so every target sees the machine's good and bad moments alike. */
const ROUNDS = 5;
const WARMUP_SECONDS = 1;
const MEASURE_SECONDS = 5;
/** Far more than 1,000 req/s at about a millisecond needs, so the generator itself never queues. */
const CONNECTIONS = 64;

export interface LatencyRow {
  readonly id: 'direct' | 'bare' | 'sidecar-1';
  readonly name: string;
  /** Medians over the rounds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /**
   * CPU time (user + system) of the target's processes per request, over all rounds: what a request
   * costs the proxy, unaffected by how busy the rest of the machine was. For direct, the upstream's.
   */
  readonly cpuMicrosecondsPerRequest: number;
  readonly rounds: readonly (OpenLoopResult & { cpuMs: number })[];
}

export interface LatencyFigures {
  readonly requestsPerSecond: number;
  readonly measureSeconds: number;
  readonly rows: readonly LatencyRow[];
  /** Each proxy's percentiles minus direct's. */
  readonly addedOverDirect: readonly { id: LatencyRow['id']; p50Ms: number; p99Ms: number; p999Ms: number }[];
}

/** Latency at a fixed request rate (open loop): what a proxy adds over calling the upstream directly. */
export const latencyScenario: Scenario<LatencyFigures> = {
  id: 'latency',
  async run(ctx) {
    const { upstream } = ctx;
    const targets: [LatencyRow['id'], Target][] = [['direct', { ...upstream, stop: async () => {} }]];
    let rows: LatencyRow[];
    try {
      targets.push(['bare', await startBareProxy(upstream)]);
      targets.push(['sidecar-1', await startSidecar({ upstreamUrl: upstream.url, workers: '1', name: 'sidecar, WORKERS=1' })]);
      const rounds = new Map(targets.map(([id]) => [id, [] as LatencyRow['rounds'][number][]]));
      for (let round = 1; round <= ROUNDS; round++) {
        for (const [id, target] of targets) rounds.get(id)!.push(await measure(ctx, target, round));
      }
      rows = targets.map(([id, target]) => {
        const results = rounds.get(id)!;
        const middle = (pick: (r: OpenLoopResult) => number) => median(results.map(pick));
        const cpuMicrosecondsPerRequest = Math.round((sum(results.map((r) => r.cpuMs)) * 1000) / sum(results.map((r) => r.sent)));
        return {
          id,
          name: target.name,
          p50Ms: middle((r) => r.p50Ms),
          p99Ms: middle((r) => r.p99Ms),
          p999Ms: middle((r) => r.p999Ms),
          maxMs: Math.max(...results.map((r) => r.maxMs)),
          cpuMicrosecondsPerRequest,
          rounds: results,
        };
      });
    } finally {
      await Promise.all(targets.map(([, target]) => target.stop()));
    }

    const direct = rows[0]!;
    const addedOverDirect = rows.slice(1).map((row) => ({
      id: row.id,
      p50Ms: round(row.p50Ms - direct.p50Ms),
      p99Ms: round(row.p99Ms - direct.p99Ms),
      p999Ms: round(row.p999Ms - direct.p999Ms),
    }));
    const added = (row: LatencyRow) => addedOverDirect.find((a) => a.id === row.id);
    const ms = (value: number | undefined) => (value === undefined ? DASH : formatNumber(value, 2));
    return {
      figures: { requestsPerSecond: RATE, measureSeconds: MEASURE_SECONDS, rows, addedOverDirect },
      section: {
        title: `Latency at ${formatNumber(RATE)} req/s (open loop)`,
        method:
          `An undici open-loop generator sends GET ${LOAD_PATH} at a fixed ${formatNumber(RATE)} req/s (request i due at ` +
          `i/rate, latency counted from when it was due). ${ROUNDS} rounds; in each, every target in turn gets ${WARMUP_SECONDS} s ` +
          `of warm-up and ${MEASURE_SECONDS} s measured (${formatNumber(RATE * MEASURE_SECONDS)} requests); each percentile shown is ` +
          'the median of the rounds\' (max: the largest of all rounds). "Added" is the target\'s percentile minus direct\'s. ' +
          'CPU µs/request: user + system CPU time of the target\'s processes (for direct, the upstream\'s) over the measured ' +
          'requests, from /proc.',
        tables: [
          {
            columns: ['target', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'added p50', 'added p99', 'added p99.9', 'CPU µs/request', 'achieved req/s', 'non-2xx'],
            rows: rows.map((row) => [
              row.name,
              ms(row.p50Ms),
              ms(row.p99Ms),
              ms(row.p999Ms),
              ms(row.maxMs),
              ms(added(row)?.p50Ms),
              ms(added(row)?.p99Ms),
              ms(added(row)?.p999Ms),
              formatNumber(row.cpuMicrosecondsPerRequest),
              formatNumber(median(row.rounds.map((r) => r.achievedRate))),
              formatNumber(row.rounds.reduce((total, r) => total + r.non2xx + r.errors, 0)),
            ]),
          },
        ],
        notes: [],
      },
    };
  },
};

async function measure(ctx: ScenarioContext, target: Target, round: number): Promise<OpenLoopResult & { cpuMs: number }> {
  const load = { origin: target.url, path: LOAD_PATH, requestsPerSecond: RATE, connections: CONNECTIONS, headers: LOAD_HEADERS };
  await openLoop({ ...load, durationSeconds: WARMUP_SECONDS });
  const cpuBefore = cpuMillisecondsOfTree(target.pid);
  const result = await openLoop({ ...load, durationSeconds: MEASURE_SECONDS });
  const cpuMs = cpuMillisecondsOfTree(target.pid) - cpuBefore;
  target.assertAlive();
  ctx.log(`latency round ${round}/${ROUNDS}: ${target.name}: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, p99.9 ${result.p999Ms} ms, CPU ${cpuMs} ms`);
  return { ...result, cpuMs };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
