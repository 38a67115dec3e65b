import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** This package's CLI, next to this module's folder in dist/. */
const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));

/** Output kept per child for error messages; a child that logs more keeps its last bytes only. */
const OUTPUT_TAIL_BYTES = 16 * 1024;
const STOP_GRACE_MS = 5_000;

export interface CliChild {
  readonly pid: number;
  /** The last bytes the child wrote to stdout and stderr. */
  output(): string;
  /** Whether it has ended. */
  readonly ended: boolean;
}

/**
 * The demo's child processes (`node dist/cli.js ...`), tracked so none outlives the demo: `stopAll()`
 * ends them politely (SIGTERM, then SIGKILL after a grace period), and a process `exit` hook kills any
 * that are still there when the demo ends some other way (an uncaught error, process.exit()).
 */
export class CliChildren {
  private readonly running = new Set<ChildProcess>();
  private readonly killSurvivors = () => {
    for (const child of this.running) child.kill('SIGKILL');
  };

  constructor() {
    process.on('exit', this.killSurvivors);
  }

  /** Starts `node dist/cli.js <args>` with exactly `env` (plus PATH): nothing of the caller's environment leaks in. */
  start(args: readonly string[], env: Record<string, string>): CliChild {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.running.add(child);
    child.once('exit', () => this.running.delete(child));
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return {
      pid: child.pid!,
      output: () => output,
      get ended() {
        return child.exitCode !== null || child.signalCode !== null;
      },
    };
  }

  /** SIGTERM to every child, SIGKILL to those still there after the grace period; resolves once all have ended. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.running].map(async (child) => {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(force);
      }),
    );
  }

  /** Stops every child and removes the exit hook. */
  async close(): Promise<void> {
    await this.stopAll();
    process.off('exit', this.killSurvivors);
  }
}

/** A loopback port that was free a moment ago (bind to 0, read, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls `url` until it answers 200; rejects when `child` ends first or the timeout passes. */
export async function waitUntilAnswering(url: string, child: CliChild, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.ended) throw new Error(`process ${child.pid} ended before ${url} answered:\n${child.output()}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})\n${child.output()}`);
}
