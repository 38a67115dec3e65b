/**
 * The token store of one process (no REDIS_URL). Same rules as the Redis store, so the lifecycle
 * code above it cannot tell them apart:
 *   - a write lands only if its generation is above the highest ever written for the key (kept
 *     after expiry and invalidation, so a refresher that stalled cannot land an older token late);
 *   - invalidate removes only the generation given;
 *   - a token reads as absent from its `expiresAt` on, by the injected clock;
 *   - listeners hear events asynchronously (queueMicrotask), as they would from Redis pub/sub;
 *   - a pool size lands unless the stored one's epoch is newer than the one the setter read.
 * All methods run synchronously inside; JavaScript's single thread makes each one atomic.
 */
import type { Token } from '../token/token.js';
import {
  checkPoolSizeArguments,
  checkReserveArguments,
  oldestKeptBucket,
  grantFor,
  type HaltRecord,
  type PoolSizeRecord,
  type PoolSizeStore,
  type RateCounter,
  type RequestReservation,
  type StoreEvent,
  type StoreListener,
  type TokenStore,
} from './store.js';

export interface MemoryTokenStoreOptions {
  /** Clock for expiry (default Date.now). */
  readonly now?: () => number;
}

interface RefreshRecord {
  readonly refreshToken: string;
  readonly generation: number;
}

export class MemoryTokenStore implements TokenStore, PoolSizeStore {
  readonly available = true;
  private readonly now: () => number;
  private readonly tokens = new Map<string, Token>();
  private readonly highestWritten = new Map<string, number>();
  private readonly counters = new Map<string, number>();
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  private readonly listeners = new Set<StoreListener>();
  private readonly poolSizes = new Map<string, PoolSizeRecord>();
  /** rateKey → counter name → bucket → requests (RateCountStore). */
  private readonly rateCounts = new Map<string, Map<string, { buckets: Map<number, number>; touchedAt: number }>>();
  private readonly requestCounts = new Map<string, number>();
  private readonly halts = new Map<string, HaltRecord>();

  constructor(options: MemoryTokenStoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<Token | null> {
    return this.current(key);
  }

  async nextGeneration(key: string): Promise<number> {
    const next = Math.max(this.counters.get(key) ?? 0, this.highestWritten.get(key) ?? 0) + 1;
    this.counters.set(key, next);
    return next;
  }

  async putIfNewer(key: string, token: Token): Promise<boolean> {
    // Every stored token went through here, so highestWritten covers the stored one too.
    if (token.generation <= (this.highestWritten.get(key) ?? 0)) return false;
    this.tokens.set(key, token);
    this.highestWritten.set(key, token.generation);
    this.publish({ type: 'stored', key, token });
    return true;
  }

  async invalidate(key: string, generation: number): Promise<boolean> {
    if (this.current(key)?.generation !== generation) return false;
    this.tokens.delete(key);
    this.publish({ type: 'invalidated', key, generation });
    return true;
  }

  async getRefreshToken(key: string): Promise<string | null> {
    return this.refreshTokens.get(key)?.refreshToken ?? null;
  }

  async putRefreshToken(key: string, refreshToken: string, generation: number): Promise<boolean> {
    if (generation <= (this.refreshTokens.get(key)?.generation ?? 0)) return false;
    this.refreshTokens.set(key, { refreshToken, generation });
    return true;
  }

  async getPoolSize(key: string): Promise<PoolSizeRecord | null> {
    return this.poolSizes.get(key) ?? null;
  }

  async setPoolSize(key: string, expectedEpoch: number, size: number, updatedAt: number, stopped?: string): Promise<boolean> {
    checkPoolSizeArguments(expectedEpoch, size);
    if ((this.poolSizes.get(key)?.epoch ?? 0) > expectedEpoch) return false;
    this.poolSizes.set(key, { size, epoch: expectedEpoch + 1, updatedAt, ...(stopped !== undefined && { stopped }) });
    return true;
  }

  async addRateCounts(key: string, bucket: number, windowBuckets: number, ttlSeconds: number, counters: readonly RateCounter[]): Promise<number[]> {
    let named = this.rateCounts.get(key);
    if (named === undefined) this.rateCounts.set(key, (named = new Map()));
    const now = this.now();
    // Counters nobody added to for ttlSeconds are gone, as Redis's EXPIRE drops them.
    for (const [name, counter] of named) if (now - counter.touchedAt > ttlSeconds * 1000) named.delete(name);
    const from = bucket - windowBuckets;
    const oldest = oldestKeptBucket(bucket, windowBuckets);
    return counters.map(({ name, delta }) => {
      let counter = named.get(name);
      if (counter === undefined) named.set(name, (counter = { buckets: new Map(), touchedAt: now }));
      if (delta > 0) {
        counter.buckets.set(bucket, (counter.buckets.get(bucket) ?? 0) + delta);
        counter.touchedAt = now;
      }
      let total = 0;
      for (const [at, count] of counter.buckets) {
        if (at >= from) total += count;
        else if (at < oldest) counter.buckets.delete(at);
      }
      return total;
    });
  }

  async reserveRequests(key: string, limit: number, maxBlock: number): Promise<RequestReservation> {
    checkReserveArguments(limit, maxBlock);
    const granted = grantFor(this.requestCounts.get(key) ?? 0, limit, maxBlock);
    const used = (this.requestCounts.get(key) ?? 0) + granted;
    this.requestCounts.set(key, used);
    return { granted, used };
  }

  async resetRequests(key: string): Promise<void> {
    this.requestCounts.delete(key);
  }

  async getHalt(key: string): Promise<HaltRecord | null> {
    return this.halts.get(key) ?? null;
  }

  async setHalt(key: string, record: HaltRecord): Promise<void> {
    this.halts.set(key, { halted: record.halted, at: record.at });
  }

  async subscribe(listener: StoreListener): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    return async () => {
      this.listeners.delete(listener);
    };
  }

  /** Never changes: there is no service to lose. */
  onAvailabilityChange(): void {}

  async close(): Promise<void> {
    this.listeners.clear();
  }

  /** The stored token unless expired; an expired one is dropped, as Redis's TTL would drop it. */
  private current(key: string): Token | null {
    const token = this.tokens.get(key);
    if (token === undefined) return null;
    if (token.expiresAt > this.now()) return token;
    this.tokens.delete(key);
    return null;
  }

  private publish(event: StoreEvent): void {
    for (const listener of this.listeners) queueMicrotask(() => listener(event));
  }
}
