import { readdirSync, readFileSync } from 'node:fs';

/**
 * Memory and file descriptors of a process and its descendants (cluster workers, nginx workers), read
 * from /proc: what `ps` would show, without spawning it per sample. Linux only, like the benchmark.
 */
export interface ProcessSample {
  /** Seconds since the sampler started. */
  readonly atSeconds: number;
  /** Resident set size summed over the tree, bytes. */
  readonly rssBytes: number;
  /** Open file descriptors summed over the tree. */
  readonly fds: number;
  /** Processes in the tree. */
  readonly processes: number;
}

/** `pid` and every descendant still alive. */
export function processTree(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: the parent pid follows the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const siblings = childrenOf.get(parent) ?? [];
      siblings.push(Number(entry));
      childrenOf.set(parent, siblings);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop()!;
    tree.push(next);
    pending.push(...(childrenOf.get(next) ?? []));
  }
  return tree;
}

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}

export function sampleProcessTree(pid: number, atSeconds = 0): ProcessSample {
  let rssBytes = 0;
  let fds = 0;
  let processes = 0;
  for (const member of processTree(pid)) {
    try {
      rssBytes += rssOf(member);
      fds += readdirSync(`/proc/${member}/fd`).length;
      processes++;
    } catch {
      // Ended between listing and reading.
    }
  }
  return { atSeconds, rssBytes, fds, processes };
}

/**
 * Samples the tree now and every `intervalMs` until stopped; `stop()` returns the samples, in order.
 * No sample is taken at stop: it would describe the process after the load rather than under it.
 */
export function startSampling(pid: number, intervalMs: number): { stop(): ProcessSample[] } {
  const started = performance.now();
  const samples: ProcessSample[] = [];
  const take = () => samples.push(sampleProcessTree(pid, Math.round((performance.now() - started) / 100) / 10));
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

/** Linux's USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on every mainstream platform). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) the tree has used so far, in milliseconds; diff two readings for an interval. */
export function cpuMillisecondsOfTree(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${member}/stat`, 'utf8');
      // Fields after the command name: state is field 3, utime field 14, stime field 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Ended between listing and reading.
    }
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

export const megabytes = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
