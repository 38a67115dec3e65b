import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { nginxVersion } from './nginx.js';
import { redisVersion } from './redis.js';

/** What the figures were measured on: they mean little without it. */
export interface Machine {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** undefined = not installed. */
  readonly nginx: string | undefined;
  readonly redis: string | undefined;
  /** 1-minute load average when the benchmark started: other work on the machine skews the figures. */
  readonly loadAverageAtStart: number;
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) return `${pretty} (${osType()} ${release()})`;
  } catch {
    // Not Linux, or no os-release: the kernel alone will do.
  }
  return `${osType()} ${release()}`;
}

export function describeMachine(): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cpus: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    os: osName(),
    node: process.version,
    nginx: nginxVersion(),
    redis: redisVersion(),
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** A file-name-safe tag: `amd-epyc-2cpu`. */
export function machineTag(machine: Machine): string {
  const model = machine.cpuModel.toLowerCase().replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${model.split('-').slice(0, 4).join('-') || 'cpu'}-${machine.cpus}cpu`;
}
