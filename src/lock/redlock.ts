/**
 * The refresh lock across instances: Redlock (@sesamecare-oss/redlock) over the same independent
 * Redis nodes as the store. The lock is held when a quorum (floor(N/2)+1) of nodes took it within
 * its TTL. It only saves token requests; the store's compare-and-set keeps tokens right if two
 * holders ever overlap (a holder stalled past its TTL).
 *
 * `retryCount: 0` makes every acquire a try-lock: one round to all nodes, no waiting. The library
 * reports every failed round the same way (ExecutionError); the votes it carries tell the two
 * outcomes apart:
 *   - a quorum of nodes answered, but not a quorum said yes: another holder has it -> null;
 *   - fewer than a quorum answered at all: the lock service failed -> reject.
 */
import { ExecutionError, Redlock, ResourceLockedError, type Lock } from '@sesamecare-oss/redlock';
import type { Redis } from 'ioredis';
import { closeClient, firstConnectionAttempts } from '../redis/client.js';
import { openEndpoints, type RedisConnection } from '../redis/connections.js';
import type { HeldLock, RefreshLock } from './lock.js';

export interface RedlockRefreshLockOptions {
  /** One URL per independent node, the same list the store uses. */
  readonly urls?: readonly string[];
  /** The store's `nodes` connection (TLS, user, password file); takes the place of `urls`. */
  readonly connection?: RedisConnection;
}

/** Fewer than a quorum of lock nodes answered: nobody can tell who holds the lock. */
export class LockUnavailableError extends Error {
  constructor(answered: number, quorum: number, nodeCount: number, firstError: Error | undefined) {
    const reason = firstError ? `: ${firstError.message}` : '';
    super(`refresh lock: ${answered} of ${nodeCount} nodes answered, ${quorum} needed${reason}`);
    this.name = 'LockUnavailableError';
  }
}

export class RedlockRefreshLock implements RefreshLock {
  private readonly clients: readonly Redis[];
  private readonly redlock: Redlock;
  private readonly connecting: Promise<void>;

  constructor(options: RedlockRefreshLockOptions) {
    const connection: RedisConnection = options.connection ?? { target: { mode: 'nodes', urls: options.urls ?? [] } };
    if (connection.target.mode !== 'nodes' || connection.target.urls.length === 0) {
      throw new Error('RedlockRefreshLock needs at least one Redis URL of independent nodes');
    }
    // Its own connections, not the store's: each owner closes what it opened.
    this.clients = openEndpoints(connection, 'command').map((endpoint) => endpoint.client as Redis);
    this.redlock = new Redlock(this.clients, { retryCount: 0 });
    this.connecting = firstConnectionAttempts(this.clients);
  }

  async tryAcquire(key: string, ttlMs: number): Promise<HeldLock | null> {
    await this.connecting;
    let lock: Lock;
    try {
      // A key of its own: `key` itself is where the store keeps the token.
      lock = await this.redlock.acquire([`${key}:lock`], Math.ceil(ttlMs));
    } catch (error) {
      // Waiting for every vote of the round is bounded by the connections' command timeout.
      const round = error instanceof ExecutionError ? await error.attempts.at(-1) : undefined;
      if (round === undefined) throw error;
      const failures = [...round.votesAgainst.values()].filter((vote) => !(vote instanceof ResourceLockedError));
      const answered = round.membershipSize - failures.length;
      if (answered >= round.quorumSize) return null;
      throw new LockUnavailableError(answered, round.quorumSize, round.membershipSize, failures[0]);
    }
    return {
      release: async () => {
        // Deletes only nodes still holding our random value; an expired lock that someone else
        // took since is left alone. A failed release just lets the lock lapse at its TTL.
        await lock.release().catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map(closeClient));
  }
}
