/**
 * Whether the Redis store can answer: a quorum of its nodes has a ready command connection.
 *
 * Listeners hear transitions only (false -> true when a quorum first connects or comes back,
 * true -> false when it is lost). The logger hears each state once: a warning when Redis is
 * unreachable (at start or mid-run), an info line when it is back. Log lines name nodes by
 * `host:port` and carry ioredis' error message; never a URL (it may hold a password).
 */
import type { Cluster, Redis } from 'ioredis';

/** A strict majority of `nodeCount` independent nodes: any two quorums share at least one node. */
export function quorumOf(nodeCount: number): number {
  return Math.floor(nodeCount / 2) + 1;
}

/** The part of a pino logger the store uses: `(fields, message)`. */
export interface StoreLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface MonitoredNode {
  readonly label: string;
  readonly client: Redis | Cluster;
}

export class AvailabilityMonitor {
  private available = false;
  /** The state last logged; undefined until the first determination. */
  private logged: boolean | undefined;
  private lastError: string | undefined;
  /** Set by stop(): closing our own connections is not Redis becoming unreachable. */
  private stopped = false;
  private readonly listeners = new Set<(available: boolean) => void>();
  private readonly quorum: number;

  constructor(
    private readonly nodes: readonly MonitoredNode[],
    private readonly logger?: StoreLogger,
  ) {
    this.quorum = quorumOf(nodes.length);
    for (const { client } of nodes) {
      client.on('ready', () => this.update('connected'));
      client.on('close', () => this.update('lost'));
      client.on('error', (error: Error) => {
        this.lastError = error.message;
        this.update('lost');
      });
    }
  }

  get isAvailable(): boolean {
    return this.available;
  }

  onChange(listener: (available: boolean) => void): void {
    this.listeners.add(listener);
  }

  stop(): void {
    this.stopped = true;
    this.listeners.clear();
  }

  /**
   * `trigger` tells a node's connection event apart from the first `ready` of a node while the rest
   * are still connecting at start: only a lost connection may log "unreachable".
   */
  private update(trigger: 'connected' | 'lost'): void {
    if (this.stopped) return;
    const ready = this.nodes.filter(({ client }) => client.status === 'ready').length;
    const available = ready >= this.quorum;
    if (available !== this.available) {
      this.available = available;
      for (const listener of this.listeners) listener(available);
    }
    if (available !== this.logged && (available || trigger === 'lost')) {
      this.logged = available;
      const fields = { nodes: this.nodes.map(({ label }) => label), ready, quorum: this.quorum };
      if (available) this.logger?.info(fields, 'redis store reachable');
      else this.logger?.warn({ ...fields, error: this.lastError }, 'redis store unreachable; serving tokens from memory');
    }
  }
}
