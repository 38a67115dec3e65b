/**
 * The refresh lock on one Redis primary: one Redis URL, the primary Sentinel points to, or the
 * primary of the lock key's slot in a Redis Cluster. `SET <key>:lock <random> NX PX <ttl>` takes it;
 * release deletes it only while it still holds our random value.
 *
 * What it promises, said plainly: while the primary lives, one holder at a time, as with Redlock.
 * Replication is asynchronous, so a failover can promote a replica that never saw the lock (or lose
 * the lock with the old primary): for the lock's TTL a second instance may then take it and make one
 * more token request. It never costs more than that one request per failover, and never a wrong
 * token: the store's compare-and-set by generation lands only the newer of two tokens, and both
 * holders reserve their generation in the store before they fetch.
 *
 * Like the Redlock lock it is a try-lock (never waits for a holder) and rejects when the primary
 * cannot answer (the caller then serves from memory).
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis, Result } from 'ioredis';
import { closeClient, firstConnectionAttempts } from '../redis/client.js';
import { openEndpoints, type RedisConnection } from '../redis/connections.js';
import type { HeldLock, RefreshLock } from './lock.js';

/** KEYS: lock key. ARGV: our value. Deletes the key only if it still holds our value. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** How soon a failed release is tried again. */
const RELEASE_RETRY_MS = 200;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    lockReleaseIfHeld(lockKey: string, value: string): Result<number, Context>;
  }
}

export class SinglePrimaryRefreshLock implements RefreshLock {
  private readonly client: Redis | Cluster;
  private readonly connecting: Promise<void>;
  private closed = false;

  constructor(connection: RedisConnection) {
    const endpoints = openEndpoints(connection, 'command');
    if (endpoints.length !== 1) throw new Error('SinglePrimaryRefreshLock needs exactly one Redis primary (several nodes: Redlock)');
    // Its own connection, not the store's: each owner closes what it opened.
    this.client = endpoints[0]!.client;
    this.client.defineCommand('lockReleaseIfHeld', { numberOfKeys: 1, lua: RELEASE });
    this.connecting = firstConnectionAttempts([this.client]);
  }

  async tryAcquire(key: string, ttlMs: number): Promise<HeldLock | null> {
    await this.connecting;
    // A key of its own beside the store's (`key` is where the token is kept); same hash tag, same slot.
    const lockKey = `${key}:lock`;
    const value = randomBytes(16).toString('hex');
    const lapsesAt = Date.now() + ttlMs;
    const taken = await this.client.set(lockKey, value, 'PX', Math.ceil(ttlMs), 'NX');
    if (taken !== 'OK') return null;
    return { release: () => this.release(lockKey, value, lapsesAt) };
  }

  /**
   * Deletes the hold if it is still ours. A release that fails because the connection is down (the
   * primary failed over while we held the lock, and the new one has the hold by replication) is
   * tried again in the background until it lands or the hold lapses: otherwise every other instance
   * would wait out the whole TTL for a holder that has long finished.
   */
  private async release(lockKey: string, value: string, lapsesAt: number): Promise<void> {
    const attempt = (): void => {
      this.client.lockReleaseIfHeld(lockKey, value).catch(() => {
        if (Date.now() + RELEASE_RETRY_MS < lapsesAt && !this.closed) setTimeout(attempt, RELEASE_RETRY_MS).unref();
      });
    };
    try {
      await this.client.lockReleaseIfHeld(lockKey, value);
    } catch {
      if (!this.closed) setTimeout(attempt, RELEASE_RETRY_MS).unref();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await closeClient(this.client);
  }
}
