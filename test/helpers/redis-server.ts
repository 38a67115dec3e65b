/**
 * Real `redis-server` processes for tests: each on a free loopback port, no persistence, started
 * fresh per suite. Never the system Redis on 6379.
 *
 * Every process this module starts is tracked; `stopAllRedisNodes()` (call it from an `after()`
 * hook) and a process `exit` handler make sure none outlives the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from '../../src/demo/child-processes.js';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';

export interface RedisNodeOptions {
  /** Starts the server with `--requirepass`; `url` then carries it (`redis://:pw@127.0.0.1:port`). */
  readonly password?: string;
}

const READY_TIMEOUT_MS = 5_000;
const running = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One redis-server on a fixed port; it keeps that port across `restart()`. */
export class RedisNode {
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly options: RedisNodeOptions,
  ) {}

  static async start(options: RedisNodeOptions = {}): Promise<RedisNode> {
    // Another test file may grab the free port between our probe and the server's bind: try again.
    for (let attempt = 1; ; attempt++) {
      const node = new RedisNode(await freePort(), options);
      try {
        await node.restart();
        return node;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  }

  get url(): string {
    const auth = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  /** Whether the process is up (possibly paused). */
  get running(): boolean {
    return this.process !== null;
  }

  /** Starts the server again on the same port (after kill/stop) and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.process) throw new Error(`redis-server on port ${this.port} is already running`);
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (this.options.password !== undefined) args.push('--requirepass', this.options.password);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    running.add(child);
    this.process = child;
    child.once('exit', () => {
      running.delete(child);
      if (this.process === child) this.process = null;
    });
    try {
      await waitUntilAnswering(this.port, child);
    } catch (error) {
      await this.kill();
      throw new Error(`redis-server on port ${this.port} did not start: ${String(error)}\n${output}`);
    }
  }

  /** SIGKILL: the node vanishes without closing its connections politely. */
  kill(): Promise<void> {
    return this.signalAndWait('SIGKILL');
  }

  /** SIGTERM: a clean shutdown. */
  stop(): Promise<void> {
    return this.signalAndWait('SIGTERM');
  }

  /** SIGSTOP: the node keeps its connections open but answers nothing (a stalled server). */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    child.kill(signal);
    await exited;
  }
}

export async function startRedisNodes(count: number, options: RedisNodeOptions = {}): Promise<RedisNode[]> {
  return Promise.all(Array.from({ length: count }, () => RedisNode.start(options)));
}

/** Kills every server this process started. Register with `after(stopAllRedisNodes)`. */
export async function stopAllRedisNodes(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}

async function waitUntilAnswering(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('process exited');
    if (await answersPing(port)) return;
    await delay(20);
  }
  throw new Error(`no PING answer within ${READY_TIMEOUT_MS} ms`);
}

/** True when something on the port speaks Redis (+PONG, or -NOAUTH from a password-protected node). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    const finish = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (reply: Buffer) => finish(/^(\+PONG|-NOAUTH)/.test(reply.toString())));
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
  });
}
