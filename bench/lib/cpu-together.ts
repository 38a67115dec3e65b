import { openLoop, type OpenLoopResult } from './open-loop.js';
import { cpuMillisecondsOfTree } from './process-stats.js';
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
