import { compareCpu, cpuCells, cpuColumns, type CpuRow } from '../lib/cpu-together.js';
import type { Scenario } from '../lib/scenario.js';
import { median } from '../lib/statistics.js';
import { formatNumber } from '../lib/table.js';
import { LOAD_PATH, startSidecar, type SidecarTarget } from '../lib/targets.js';

/** Same method as pool-cpu: every sidecar at the same fixed rate, all loaded at the same time. */
const RATE = 500;
const CONNECTIONS = 100;
const ROUNDS = 6;
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 8;

export type ServerTimingTargetId = 'on' | 'off';

export type ServerTimingCpuRow = CpuRow<ServerTimingTargetId>;

export interface ServerTimingCpuFigures {
  readonly requestsPerSecond: number;
  readonly rounds: number;
  readonly measureSeconds: number;
  readonly rows: readonly ServerTimingCpuRow[];
  /** on / off, CPU per request: the target says at most 1.02. */
  readonly onOverOff: number;
  /** Median over the rounds of each round's on / off ratio (less swayed by one disturbed round). */
  readonly medianRoundRatio: number;
}

/**
 * What the Server-Timing header costs: two sidecars (one token, the plain fast upstream), one with
 * SERVER_TIMING=on (the default) and one with off, under the same open-loop load at the same time.
 * Both measure the parts (the histogram token_sidecar_added_latency_seconds is kept either way); the
 * difference is formatting the value and the extra header line through reply-from and Fastify.
 */
export const serverTimingCpuScenario: Scenario<ServerTimingCpuFigures> = {
  id: 'server-timing-cpu',
  async run(ctx) {
    const targets: [ServerTimingTargetId, SidecarTarget][] = [];
    try {
      for (const id of ['on', 'off'] as const) {
        targets.push([id, await startSidecar({ upstreamUrl: ctx.upstream.url, workers: '1', poolSize: '1', name: `SERVER_TIMING=${id}`, env: { SERVER_TIMING: id } })]);
      }
      const rows: ServerTimingCpuRow[] = await compareCpu(targets, {
        requestsPerSecond: RATE, connections: CONNECTIONS, warmupSeconds: WARMUP_SECONDS, measureSeconds: MEASURE_SECONDS,
        rounds: ROUNDS, label: 'server-timing-cpu', log: ctx.log,
      });
      const cpu = (id: ServerTimingTargetId) => rows.find((row) => row.id === id)!;
      const perRequest = (r: { cpuMs: number; sent: number }) => r.cpuMs / r.sent;
      const figures: ServerTimingCpuFigures = {
        requestsPerSecond: RATE,
        rounds: ROUNDS,
        measureSeconds: MEASURE_SECONDS,
        rows,
        onOverOff: cpu('on').cpuMicrosecondsPerRequest / cpu('off').cpuMicrosecondsPerRequest,
        medianRoundRatio: median(cpu('on').rounds.map((r, i) => perRequest(r) / perRequest(cpu('off').rounds[i]!))),
      };
      return { figures, section: section(figures) };
    } finally {
      await Promise.all(targets.map(([, target]) => target.stop()));
    }
  },
};

function section(figures: ServerTimingCpuFigures) {
  const off = figures.rows.find((row) => row.id === 'off')!.cpuMicrosecondsPerRequest;
  return {
    title: 'CPU per request with the Server-Timing header on and off',
    method:
      `An undici open-loop generator sends GET ${LOAD_PATH} at a fixed ${formatNumber(RATE)} req/s (up to ${CONNECTIONS} connections) ` +
      `to two sidecar processes (WORKERS=1, one token, the fast upstream) at the same time: SERVER_TIMING=on and off. ` +
      `${ROUNDS} rounds of ${WARMUP_SECONDS} s warm-up and ${MEASURE_SECONDS} s measured. CPU µs/request: user + system CPU time ` +
      'of each sidecar over all its measured requests, from /proc. Both measure the parts (the added-latency histogram); off only leaves the header out.',
    tables: [
      {
        columns: cpuColumns('off'),
        rows: figures.rows.map((row) => cpuCells(row, off)),
      },
    ],
    notes: [`Median of the rounds' on/off ratios: ${formatNumber(figures.medianRoundRatio, 3)}.`],
  };
}
