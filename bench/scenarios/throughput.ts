import { closedLoop, type ClosedLoopResult } from '../lib/closed-loop.js';
import { cpuMillisecondsOfTree, megabytes, startSampling, type ProcessSample } from '../lib/process-stats.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { median, sum } from '../lib/statistics.js';
import { DASH, formatNumber } from '../lib/table.js';
import { LOAD_HEADERS, LOAD_PATH, startBareProxy, startNginxProxy, startSidecar, type Target } from '../lib/targets.js';

const CONNECTIONS = 200;
/**
 * Every target is measured in each round, round after round, and the median is reported: on a shared
 * 2-CPU machine the ceiling drifts by tens of percent within a minute, and interleaving gives every
 * target the same share of good and bad moments. Each round starts every proxy afresh: a Node proxy
 * process (the bare @fastify/http-proxy floor as much as the sidecar) sometimes settles for its
 * whole life at about 1.4× the CPU per request of another start of the same build, with the garbage
 * collector taking 16% of its time instead of 7%: in `bench/ab.ts --closed` runs on one machine in one
 * hour, one sidecar build measured 87-95 µs per request in three runs and 156 in a fourth, and the
 * bare floor 84-98 in two and 127-147 in three. With one process per target, a run measured that
 * draw, not the code. The cause is V8's allocation-site pretenuring (bench/results/analysis.md): the
 * sidecar now turns it off (src/v8-flags.ts); the bare floor, as a plain @fastify/http-proxy app,
 * does not, so it can still draw the slow mode.
 */
const ROUNDS = 5;
/** Before each measurement: reopens the connections; the first round also warms the JIT. */
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 6;

export type ThroughputTargetId = 'direct' | 'bare' | 'sidecar-1' | 'sidecar-auto' | 'nginx';

export interface ThroughputRow {
  readonly id: ThroughputTargetId;
  readonly name: string;
  /** Median over the rounds. */
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * CPU time (user + system) of the target's processes per request over every round: less sensitive
   * than req/s to what else the machine is doing. For direct, the upstream's own cost.
   */
  readonly cpuMicrosecondsPerRequest: number;
  readonly rounds: readonly (ClosedLoopResult & { cpuMs: number })[];
  /** Processes serving the target (cluster or nginx workers included). */
  readonly processes: number;
  /** Largest RSS of the target's process tree while loaded; undefined for direct (it is the upstream). */
  readonly peakRssMb: number | undefined;
}

export interface ThroughputFigures {
  readonly connections: number;
  readonly rounds: number;
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
  readonly rows: readonly ThroughputRow[];
  /** Why a target is missing, e.g. nginx not installed. */
  readonly skipped: Partial<Record<ThroughputTargetId, string>>;
}

/**
 * The throughput ceiling at 200 connections, every target in the same run against the same fast
 * upstream, taking turns under load; each proxy is started for its turn and stopped after it.
 */
export const throughputScenario: Scenario<ThroughputFigures> = {
  id: 'throughput',
  async run(ctx) {
    const { upstream } = ctx;
    const skipped: ThroughputFigures['skipped'] = {};
    if (!ctx.machine.nginx) skipped.nginx = 'nginx not installed';
    const starters: [ThroughputTargetId, () => Promise<Target>][] = [
      ['direct', async () => ({ ...upstream, stop: async () => {} })],
      ['bare', () => startBareProxy(upstream)],
      ['sidecar-1', () => startSidecar({ upstreamUrl: upstream.url, workers: '1', name: 'sidecar, WORKERS=1' })],
      ['sidecar-auto', () => startSidecar({ upstreamUrl: upstream.url, workers: 'auto', name: `sidecar, WORKERS=auto (${ctx.machine.cpus} CPUs)` })],
    ];
    if (ctx.machine.nginx) starters.push(['nginx', () => startNginxProxy(upstream)]);

    const results = new Map(starters.map(([id]) => [id, { name: '', rounds: [] as ThroughputRow['rounds'][number][], samples: [] as ProcessSample[] }]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [id, start] of starters) {
        const target = await start();
        try {
          const { result, samples, cpuMs } = await measure(ctx, target, round);
          const entry = results.get(id)!;
          entry.name = target.name;
          entry.rounds.push({ ...result, cpuMs });
          entry.samples.push(...samples);
        } finally {
          await target.stop();
        }
      }
    }
    const rows = starters.map(([id]): ThroughputRow => {
      const { name, rounds, samples } = results.get(id)!;
      return {
        id,
        name,
        requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
        p50Ms: median(rounds.map((r) => r.p50Ms)),
        p99Ms: median(rounds.map((r) => r.p99Ms)),
        cpuMicrosecondsPerRequest: Math.round((sum(rounds.map((r) => r.cpuMs)) * 1000) / sum(rounds.map((r) => r.requests))),
        rounds,
        processes: Math.max(...samples.map((s) => s.processes)),
        peakRssMb: id === 'direct' ? undefined : megabytes(Math.max(...samples.map((s) => s.rssBytes))),
      };
    });
    return { figures: { connections: CONNECTIONS, rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, measureSeconds: MEASURE_SECONDS, rows, skipped }, section: section(rows, skipped) };
  },
};

function section(rows: readonly ThroughputRow[], skipped: ThroughputFigures['skipped']) {
  const floor = rows.find((row) => row.id === 'bare')?.requestsPerSecond;
  const range = (row: ThroughputRow) => {
    const values = row.rounds.map((r) => r.requestsPerSecond);
    return `${formatNumber(Math.min(...values))}–${formatNumber(Math.max(...values))}`;
  };
  const notes = Object.entries(skipped).map(([id, why]) => `${id}: not measured (${why}).`);
  const auto = rows.find((row) => row.id === 'sidecar-auto');
  if (auto && auto.processes === 1) notes.push('WORKERS=auto ran as a single process: this build does not start worker processes, so it measures the same as WORKERS=1.');
  return {
    title: `Throughput ceiling at ${CONNECTIONS} connections`,
    method:
      `autocannon, ${CONNECTIONS} keep-alive connections, closed loop, GET ${LOAD_PATH}. ${ROUNDS} rounds; in each, every ` +
      `target in turn is started afresh and gets ${WARMUP_SECONDS} s of warm-up and ${MEASURE_SECONDS} s measured (a Node process ` +
      'sometimes runs its whole life at about 1.4× the CPU per request of another start of the same build); each figure is the median of the ' +
      'rounds, with the range of req/s. Every target forwards to the same fast upstream (node:http in its own process). ' +
      'CPU µs/request: user + system CPU time of the target\'s processes over its measured requests, from /proc.',
    tables: [
      {
        columns: ['target', 'req/s', 'range', '× bare floor', 'p50 ms', 'p99 ms', 'CPU µs/request', 'non-2xx', 'errors', 'processes', 'peak RSS MB'],
        rows: rows.map((row) => [
          row.name,
          formatNumber(row.requestsPerSecond),
          range(row),
          floor ? formatNumber(row.requestsPerSecond / floor, 2) : DASH,
          formatNumber(row.p50Ms),
          formatNumber(row.p99Ms),
          formatNumber(row.cpuMicrosecondsPerRequest),
          formatNumber(sum(row.rounds.map((r) => r.non2xx))),
          formatNumber(sum(row.rounds.map((r) => r.errors))),
          row.id === 'direct' ? DASH : String(row.processes),
          row.peakRssMb === undefined ? DASH : formatNumber(row.peakRssMb, 1),
        ]),
      },
    ],
    notes,
  };
}

async function measure(
  ctx: ScenarioContext,
  target: Target,
  round: number,
): Promise<{ result: ClosedLoopResult; samples: ProcessSample[]; cpuMs: number }> {
  const load = { url: `${target.url}${LOAD_PATH}`, connections: CONNECTIONS, headers: LOAD_HEADERS };
  await closedLoop({ ...load, durationSeconds: WARMUP_SECONDS });
  const sampler = startSampling(target.pid, 500);
  const cpuBefore = cpuMillisecondsOfTree(target.pid);
  const result = await closedLoop({ ...load, durationSeconds: MEASURE_SECONDS });
  const cpuMs = cpuMillisecondsOfTree(target.pid) - cpuBefore;
  const samples = sampler.stop();
  target.assertAlive();
  ctx.log(`throughput round ${round}/${ROUNDS}: ${target.name}: ${formatNumber(result.requestsPerSecond)} req/s`);
  return { result, samples, cpuMs };
}
