/**
 * Real `redis-server` processes for tests: each on a free loopback port, no persistence, started
 * fresh per suite. Never the system Redis on 6379.
 *
 * Every process this module starts is tracked; `stopAllRedisNodes()` (call it from an `after()`
 * hook) and the shared starter's `exit` hook (src/harness/child-processes.ts) make sure none
 * outlives the test run.
 */
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, type RunningProcess } from '../../src/harness/child-processes.js';
import { waitFor } from '../../src/harness/wait-for.js';

export interface RedisNodeOptions {
  /** Starts the server with `--requirepass`; `url` then carries it (`redis://:pw@127.0.0.1:port`). */
  readonly password?: string;
  /**
   * Also listens for TLS on a second free port (`tlsPort`, `tlsUrl`) with these PEM files; the plain
   * port stays open for the harness (readiness, test-side commands).
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string; readonly authClients: boolean };
  /** Further `--name value` arguments (replication, cluster mode), or a function of the port. */
  readonly args?: readonly string[] | ((port: number) => readonly string[]);
  /** Run as a sentinel with this configuration (written to a file the sentinel may rewrite). */
  readonly sentinelConfig?: (port: number) => string;
  /** Where config files go (cluster nodes.conf, sentinel.conf); default: the OS temp dir. */
  readonly dir?: string;
}

const READY_TIMEOUT_MS = 5_000;
const running = new Set<RunningProcess>();

/** One redis-server on a fixed port; it keeps that port across `restart()`. */
export class RedisNode {
  private process: RunningProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly options: RedisNodeOptions,
    /** The TLS port, when started with `tls`. */
    readonly tlsPort?: number,
  ) {}

  static async start(options: RedisNodeOptions = {}): Promise<RedisNode> {
    // Another test file may grab the free port between our probe and the server's bind: try again.
    for (let attempt = 1; ; attempt++) {
      const node = new RedisNode(await freePort(), options, options.tls ? await freePort() : undefined);
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

  /** `rediss://127.0.0.1:<tlsPort>` (with the password, if any). */
  get tlsUrl(): string {
    const auth = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return `rediss://${auth}127.0.0.1:${this.tlsPort}`;
  }

  /** Whether the process is up (possibly paused). */
  get running(): boolean {
    return this.process !== null;
  }

  /** Starts the server again on the same port (after kill/stop) and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.process) throw new Error(`redis-server on port ${this.port} is already running`);
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (this.options.sentinelConfig) {
      const file = join(this.options.dir ?? tmpdir(), `sentinel-${this.port}.conf`);
      writeFileSync(file, this.options.sentinelConfig(this.port));
      args.unshift(file, '--sentinel');
    }
    if (this.options.password !== undefined) args.push('--requirepass', this.options.password);
    const tls = this.options.tls;
    if (tls) {
      args.push('--tls-port', String(this.tlsPort), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile,
        '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', tls.authClients ? 'yes' : 'no');
    }
    if (this.options.dir) args.push('--dir', this.options.dir);
    const extra = this.options.args;
    args.push(...(typeof extra === 'function' ? extra(this.port) : (extra ?? [])));
    const proc = startProcess('redis-server', args, { name: `redis-server :${this.port}` });
    running.add(proc);
    this.process = proc;
    void proc.exited.then(() => {
      running.delete(proc);
      if (this.process === proc) this.process = null;
    });
    try {
      await waitFor(() => answersPing(this.port), { timeoutMs: READY_TIMEOUT_MS, process: proc, what: `redis-server on port ${this.port} answering PING` });
    } catch (error) {
      await this.kill();
      throw new Error(`redis-server on port ${this.port} did not start: ${String(error)}`);
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
    this.process?.child.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.child.kill('SIGCONT');
  }

  /** Sends `signal` (after SIGCONT: a paused server cannot act on SIGTERM) and waits for the exit. */
  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    await this.process?.stop(signal);
  }
}

export async function startRedisNodes(count: number, options: RedisNodeOptions = {}): Promise<RedisNode[]> {
  return Promise.all(Array.from({ length: count }, () => RedisNode.start(options)));
}

/** Kills every server this process started. Register with `after(stopAllRedisNodes)`. */
export async function stopAllRedisNodes(): Promise<void> {
  await Promise.all([...running].map((proc) => proc.stop('SIGKILL')));
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
