import { openLoop, type OpenLoopResult } from './open-loop.js';
import { cpuMillisecondsOfTree } from './process-stats.js';
import { median, sum } from './statistics.js';
import { formatNumber } from './table.js';
import { LOAD_HEADERS, LOAD_PATH, type SidecarTarget } from './targets.js';

/** One sidecar's share of a round: its load figures and the CPU its process tree used over the measured part. */
export type CpuRound = OpenLoopResult & { cpuMs: number };

export interface CpuRoundOptions {
  readonly requestsPerSecond: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
}

/**
 * One round of a CPU-per-request comparison: every sidecar under the same open-loop load at the same
 * time (so other work on the machine weighs on all alike), a warm-up, then the measured part, with
 * each process tree's CPU read from /proc before and after it.
 */
export async function measureCpuTogether(targets: readonly SidecarTarget[], options: CpuRoundOptions): Promise<CpuRound[]> {
  const load = (target: SidecarTarget, durationSeconds: number) =>
    openLoop({ origin: target.url, path: LOAD_PATH, requestsPerSecond: options.requestsPerSecond, connections: options.connections, headers: LOAD_HEADERS, durationSeconds });
  await Promise.all(targets.map((target) => load(target, options.warmupSeconds)));
  const cpuBefore = targets.map((target) => cpuMillisecondsOfTree(target.pid));
  const results = await Promise.all(targets.map((target) => load(target, options.measureSeconds)));
  return targets.map((target, i) => {
    target.assertAlive();
    return { ...results[i]!, cpuMs: cpuMillisecondsOfTree(target.pid) - cpuBefore[i]! };
  });
}

/** A sidecar's figures over every round of a comparison. */
export interface CpuRow<Id extends string> {
  readonly id: Id;
  readonly name: string;
  /** CPU time (user + system) of the sidecar's processes over every measured round, per request. */
  readonly cpuMicrosecondsPerRequest: number;
  /** Answers per second completed, median over the rounds (the rate asked unless the machine fell behind). */
  readonly requestsPerSecond: number;
  /** Median over the rounds of the rounds' p99, ms. */
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly rounds: readonly CpuRound[];
}

/** `rounds` rounds of measureCpuTogether over `targets`, each round logged, summed up per sidecar. */
export async function compareCpu<Id extends string>(
  targets: readonly (readonly [Id, SidecarTarget])[],
  options: CpuRoundOptions & { readonly rounds: number; readonly label: string; readonly log: (line: string) => void },
): Promise<CpuRow<Id>[]> {
  const measuredBy = targets.map((): CpuRound[] => []);
  for (let round = 1; round <= options.rounds; round++) {
    const measured = await measureCpuTogether(targets.map(([, target]) => target), options);
    targets.forEach(([, target], i) => {
      measuredBy[i]!.push(measured[i]!);
      options.log(`${options.label} round ${round}/${options.rounds}: ${target.name}: ${formatNumber((measured[i]!.cpuMs * 1000) / measured[i]!.sent, 1)} µs/request`);
    });
  }
  return targets.map(([id, target], i) => {
    const measured = measuredBy[i]!;
    return {
      id,
      name: target.name,
      cpuMicrosecondsPerRequest: (sum(measured.map((r) => r.cpuMs)) * 1000) / sum(measured.map((r) => r.sent)),
      requestsPerSecond: median(measured.map((r) => r.achievedRate)),
      p99Ms: median(measured.map((r) => r.p99Ms)),
      non2xx: sum(measured.map((r) => r.non2xx)),
      errors: sum(measured.map((r) => r.errors)),
      rounds: measured,
    };
  });
}

/** The report table's columns for such rows, the third relative to `baseline` ("off", "one token"). */
export const cpuColumns = (baseline: string): string[] => ['sidecar', 'CPU µs/request', `× ${baseline}`, 'rounds µs/request', 'req/s', 'p99 ms', 'non-2xx', 'errors'];

/** A row's cells under cpuColumns, against the baseline's CPU µs/request. */
export function cpuCells(row: CpuRow<string>, baselineMicroseconds: number): string[] {
  return [
    row.name,
    formatNumber(row.cpuMicrosecondsPerRequest, 1),
    formatNumber(row.cpuMicrosecondsPerRequest / baselineMicroseconds, 3),
    row.rounds.map((r) => formatNumber((r.cpuMs * 1000) / r.sent)).join(' / '),
    formatNumber(row.requestsPerSecond),
    formatNumber(row.p99Ms, 1),
    formatNumber(row.non2xx),
    formatNumber(row.errors),
  ];
}
