import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { waitFor } from '../../src/harness/wait-for.js';
import { freePort, startChild, type Child } from './children.js';

/** `redis-server --version`'s version, or undefined when it is not installed. */
export function redisVersion(): string | undefined {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return undefined;
  }
}

/**
 * A throwaway redis-server on a free loopback port (never the system one), without persistence, and
 * a client to read its command statistics.
 */
export class BenchRedis {
  private constructor(
    readonly url: string,
    private readonly child: Child,
    private readonly client: Redis,
  ) {}

  static async start(): Promise<BenchRedis> {
    const port = await freePort();
    const child = startChild('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    const url = `redis://127.0.0.1:${port}`;
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // Connection errors also reject the command that met them, which is where they are handled.
    client.on('error', () => {});
    try {
      await waitFor(
        async () => {
          try {
            await client.connect();
            await client.ping();
            return true;
          } catch (err) {
            client.disconnect();
            throw err;
          }
        },
        { timeoutMs: 5_000, intervalMs: 50, process: child, what: `redis-server on port ${port} answering PING` },
      );
    } catch (err) {
      await child.stop('SIGKILL');
      throw err;
    }
    return new BenchRedis(url, child, client);
  }

  /** Zeroes INFO commandstats. */
  async resetStats(): Promise<void> {
    await this.client.config('RESETSTAT');
  }

  /**
   * Calls per command since the last resetStats(), without the benchmark's own CONFIG RESETSTAT
   * (INFO is counted after it answers, so this read does not count itself).
   */
  async commandCalls(): Promise<Record<string, number>> {
    const text = await this.client.info('commandstats');
    const calls: Record<string, number> = {};
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
    if (calls['config|resetstat'] !== undefined && --calls['config|resetstat'] === 0) delete calls['config|resetstat'];
    return calls;
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    await this.child.stop();
  }
}

export const sumOf = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
