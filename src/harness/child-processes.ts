/**
 * The one way the demo, the tests and the benchmark start processes (`node dist/cli.js ...`,
 * redis-server, nginx, the benchmark's servers). Every process started here is tracked until it
 * ends, so none outlives its starter: `stopAllProcesses()` ends them politely, and a process `exit`
 * hook SIGKILLs whatever is still there when the starter ends some other way (an uncaught error,
 * process.exit()).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * This package's built CLI. Resolved from this module's place in either tree: `src/harness/` (run
 * through tsx by tests and the benchmark) and `dist/harness/` (the demo, built) both sit two levels
 * below the package root, so `../../dist/cli.js` is the built CLI from both.
 */
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** The package root (where package.json is), for processes that read files relative to it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Output kept by default: the last bytes only, so a long-running child costs bounded memory. */
const DEFAULT_OUTPUT_TAIL_BYTES = 16 * 1024;
/** How long stop() waits after its signal before it sends SIGKILL. */
const DEFAULT_STOP_GRACE_MS = 5_000;

export interface RunningProcess {
  /** A name for error messages ("mock", "sidecar 2", "redis-server"). */
  readonly name: string;
  readonly pid: number;
  /** The underlying process, for signals a caller sends itself (SIGSTOP, SIGCONT, SIGINT). */
  readonly child: ChildProcess;
  /** What it wrote to stdout and stderr, interleaved (the last `outputTailBytes` of it). */
  output(): string;
  /** Whether it has ended. */
  readonly ended: boolean;
  /** Resolves with the exit code, or the name of the signal that ended it, once it has ended. */
  readonly exited: Promise<number | string>;
  /**
   * Sends `signal` (default SIGTERM) unless it has ended, then SIGKILL if it is still there after
   * `graceMs`; resolves with how it ended.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

export interface StartOptions {
  /** For error messages; default: the command. */
  readonly name?: string;
  /** Added to an environment that holds PATH alone: nothing else of the starter's environment leaks in. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** How much of the output to keep (default 16 KiB; `Infinity` keeps everything). */
  readonly outputTailBytes?: number;
}

const running = new Set<RunningProcess>();
process.on('exit', () => {
  for (const proc of running) proc.child.kill('SIGKILL');
});

/** Starts `command args`, output captured, tracked until it ends. */
export function startProcess(command: string, args: readonly string[], opts: StartOptions = {}): RunningProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tailBytes = opts.outputTailBytes ?? DEFAULT_OUTPUT_TAIL_BYTES;
  let output = '';
  const keep = (text: string) => {
    output += text;
    if (output.length > tailBytes) output = output.slice(-tailBytes);
  };
  child.stdout!.on('data', (chunk: Buffer) => keep(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => keep(chunk.toString()));

  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    // A command that cannot be started (not installed) emits 'error' and, then, maybe no 'exit'.
    child.once('error', (err) => {
      keep(`could not start ${command}: ${err.message}\n`);
      if (child.pid === undefined) resolve(`spawn error: ${err.message}`);
    });
  });
  const ended = () => child.exitCode !== null || child.signalCode !== null || child.pid === undefined;

  const proc: RunningProcess = {
    name: opts.name ?? command,
    pid: child.pid ?? -1,
    child,
    output: () => output,
    get ended() {
      return ended();
    },
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = DEFAULT_STOP_GRACE_MS) {
      if (ended()) return exited;
      child.kill('SIGCONT'); // a stopped (SIGSTOP) process cannot act on SIGTERM
      child.kill(signal);
      const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(force);
      }
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** Starts `node [nodeArgs] dist/cli.js args` (the package's own CLI, built). */
export function startCli(args: readonly string[], opts: StartOptions & { nodeArgs?: readonly string[] } = {}): RunningProcess {
  return startProcess(process.execPath, [...(opts.nodeArgs ?? []), CLI_PATH, ...args], { name: 'token-sidecar', ...opts });
}

/** Stops every process started here that still runs (SIGTERM, SIGKILL after the grace period). */
export async function stopAllProcesses(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
  await Promise.all([...running].map((proc) => proc.stop('SIGTERM', graceMs)));
}

/**
 * Where freePort draws from: below the kernel's ephemeral range (Linux's
 * /proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default), so no outgoing connection of
 * another process is given the port between the check and the child's bind; and at random, because
 * the kernel's own pick (bind to port 0) hands a port just released to the next caller, so two
 * processes starting servers at once were given the same port, and one test's readiness check was
 * answered by another test's sidecar.
 */
const PORT_RANGE = ((): readonly [number, number] => {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 12_000) return [10_000, low - 1];
  } catch {
    // Not Linux: below Linux's default range, which is also below the one IANA suggests (49152 on).
  }
  return [10_000, 32_767];
})();

/** Whether a server can listen on `port` on the loopback now. */
async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const listening = once(server, 'listening').then(() => true, () => false);
  server.listen(port, '127.0.0.1');
  if (!(await listening)) return false;
  server.close();
  await once(server, 'close');
  return true;
}

/**
 * A loopback port that was free a moment ago, for a child process to listen on: drawn at random from
 * PORT_RANGE until one can be listened on. A start that still meets a taken port (another process
 * drew it in between) fails with "already in use", which the test harness starts again on new ports.
 */
export async function freePort(): Promise<number> {
  const [low, high] = PORT_RANGE;
  for (let tries = 0; tries < 1_000; tries++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no port between ${low} and ${high} could be listened on in 1,000 tries`);
}
