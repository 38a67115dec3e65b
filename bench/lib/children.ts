import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every process the benchmark starts (upstreams, proxies, Redis, nginx) goes through here, so none
 * outlives it: `stopAllChildren()` ends them politely, and an `exit` hook kills whatever is left when
 * the benchmark ends some other way.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_PATH = join(REPO_ROOT, 'dist/cli.js');

const OUTPUT_TAIL_BYTES = 16 * 1024;
const STOP_GRACE_MS = 5_000;

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** The last bytes it wrote to stdout and stderr. */
  output(): string;
  readonly ended: boolean;
  /** SIGTERM (or `signal`), SIGKILL after a grace period; resolves once it has ended. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `command args` from the repository root with `env` added to PATH alone (no inherited
 * settings). `onExit` runs once it has ended (e.g. to remove its temporary files).
 */
export function startChild(
  name: string,
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
  onExit?: () => void,
): Child {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = once(child, 'exit').then(() => {
    running.delete(child);
    onExit?.();
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  return {
    name,
    pid: child.pid ?? -1,
    output: () => output,
    get ended() {
      return child.exitCode !== null || child.signalCode !== null;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(force);
    },
  };
}

/** A server of bench/servers/ (plain JavaScript, so no TypeScript loader runs beside it). */
export function startBenchServer(
  name: string,
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Child {
  return startChild(name, process.execPath, [...nodeArgs, join(REPO_ROOT, 'bench/servers', script), ...args], env);
}

/** `node [nodeArgs] dist/cli.js args`. */
export function startCli(name: string, args: readonly string[], env: Record<string, string>, nodeArgs: readonly string[] = []): Child {
  return startChild(name, process.execPath, [...nodeArgs, CLI_PATH, ...args], env);
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(force);
    }),
  );
}

export { freePort } from '../../src/demo/child-processes.js';

/** Polls `url` until it answers `status` (default 200); rejects when `child` ends first or after the timeout. */
export async function waitForHttp(url: string, child: Child, opts: { status?: number; timeoutMs?: number } = {}): Promise<void> {
  const expected = opts.status ?? 200;
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.ended) throw new Error(`${child.name} (pid ${child.pid}) ended before ${url} answered:\n${child.output()}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === expected) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${child.name}: ${url} did not answer ${expected} in time (last: ${last})\n${child.output()}`);
}
