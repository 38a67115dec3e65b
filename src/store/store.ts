import type { Token } from '../token/token.js';

/**
 * Where the current token of each (profile, slot) lives, shared by every instance that uses the
 * same store. Correctness lives here, not in the lock: a write lands only if it is newer, and an
 * invalidation removes only the generation that failed. Implementations: memory (one process),
 * Redis (one node or several independent nodes).
 *
 * Keys are opaque strings built by `tokenKey()`; they never contain a secret.
 * Every method may reject when the backing service is unreachable; callers fall back to their
 * in-memory lifecycle and report `available` = false.
 */
export interface TokenStore extends PoolSizeStore, RateCountStore {
  /** The stored token, or null when none (or it has expired; TTL follows the token's expiry). */
  get(key: string): Promise<Token | null>;

  /**
   * Reserve the next generation number for `key` (strictly greater than every generation handed out
   * or stored before for this key). Called by the refresher before it calls the token endpoint.
   */
  nextGeneration(key: string): Promise<number>;

  /**
   * Compare-and-set: store `token` only if no token with a generation >= token.generation is stored
   * for `key`. On success publish it to every subscriber (all instances). Returns whether it landed.
   */
  putIfNewer(key: string, token: Token): Promise<boolean>;

  /**
   * Remove the stored token only if its generation is still `generation` (a 401 invalidates only the
   * token that failed). Publishes the removal on success. Returns whether it removed anything.
   */
  invalidate(key: string, generation: number): Promise<boolean>;

  /**
   * Listen for tokens stored or invalidated by any instance (including this one). `token` is null
   * for an invalidation, which carries the invalidated generation. Returns an unsubscribe function.
   */
  subscribe(listener: StoreListener): Promise<() => Promise<void>>;

  /**
   * The current single-use refresh token of `key` (refresh_token grant), or null. Stored apart from
   * the access token, without TTL, and never published: invalidating an access token must not lose
   * it, since the one it rotated from is already spent.
   */
  getRefreshToken(key: string): Promise<string | null>;

  /**
   * Store the refresh token that came with generation `generation`: lands only if `generation` is
   * newer than the generation of the stored refresh token (same compare-and-set rule as putIfNewer).
   */
  putRefreshToken(key: string, refreshToken: string, generation: number): Promise<boolean>;

  /** Whether the backing service answered the last time it was asked (memory: always true). */
  readonly available: boolean;

  /** Called with true/false whenever `available` changes. */
  onAvailabilityChange(listener: (available: boolean) => void): void;

  close(): Promise<void>;

  // ---- The run's brakes, shared by every instance on the store (brakes/). ----

  /**
   * MAX_REQUESTS: reserves a block of the run's request count under `key` (requestCountKey) in one
   * atomic step, never one command per request. With `remaining` = `limit` − the count so far, it
   * grants min(`maxBlock`, ceil(remaining / RESERVE_SPREAD)) (at least 1), or 0 when nothing
   * remains, and adds the grant to the count. Blocks shrink as the end nears, so the last requests
   * are spread over the instances that ask rather than held by the first one. Several
   * instances asking at once never get more than `limit` in all. A block an instance does not use
   * stays counted: the cap is "at most", never "exactly".
   */
  reserveRequests(key: string, limit: number, maxBlock: number): Promise<RequestReservation>;

  /** Sets the run's request count under `key` back to 0: a new run (POST /admin/requests/reset). */
  resetRequests(key: string): Promise<void>;

  /** The fleet's halt record under `key` (haltKey), or null when never set. */
  getHalt(key: string): Promise<HaltRecord | null>;

  /**
   * Sets the halt record (POST /admin/halt, /admin/resume). Not published: instances poll it (at
   * most every HALT_POLL_MS), which also covers an instance that was away when it changed.
   */
  setHalt(key: string, record: HaltRecord): Promise<void>;
}

/** How many instances a near-exhausted request cap is spread over (reserveRequests). */
export const RESERVE_SPREAD = 4;

export interface RequestReservation {
  /** Requests this caller may now send (0: the cap is reached). */
  readonly granted: number;
  /** The run's count after this reservation: requests granted to every instance so far. */
  readonly used: number;
}

export interface HaltRecord {
  readonly halted: boolean;
  /** When it was set (epoch ms, by the setter's clock): across several Redis nodes the newest wins. */
  readonly at: number;
}

/** Rejects a cap or block no reservation can have. */
export function checkReserveArguments(limit: number, maxBlock: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`request limit must be an integer of at least 1, got ${limit}`);
  if (!Number.isSafeInteger(maxBlock) || maxBlock < 1) throw new RangeError(`request block must be an integer of at least 1, got ${maxBlock}`);
}

/** The grant of reserveRequests for a count of `used` so far (what the Redis script computes too). */
export function grantFor(used: number, limit: number, maxBlock: number): number {
  const remaining = limit - used;
  if (remaining <= 0) return 0;
  return Math.min(maxBlock, Math.max(1, Math.ceil(remaining / RESERVE_SPREAD)));
}

/**
 * The fleet-wide size of one profile's auto pool (TOKEN_POOL_SIZE=auto): every instance sharing the
 * store uses slots 0 to size-1, so the pool grows once for the fleet, not once per instance.
 */
export interface PoolSizeRecord {
  readonly size: number;
  /** The record's version: 1 for the first size set, one more on every set that lands. */
  readonly epoch: number;
  /** When the size last changed (epoch ms, by the setter's clock): a shrink waits for a quiet period after it. */
  readonly updatedAt: number;
  /**
   * Why growth stopped for the whole fleet, when it did (e.g. issuing a token revokes the older
   * ones): every instance that reads it stops growing and keeps the size, which is then 1.
   */
  readonly stopped?: string;
}

/**
 * The pool-size record of each profile. Kept apart from TokenStore until every implementation has it
 * (the workers' IPC store has not yet); the memory and Redis stores implement both.
 *
 * Concurrency rule: a compare-and-set on the epoch. A grower reads the record, decides the size it
 * wants from the demand (not "size + k": two growers that saw the same demand want the same size),
 * and sets it against the epoch it read. Of several setters that read the same epoch exactly one
 * lands; the others get false, read again, and find the size they wanted already there (or decide
 * anew). So concurrent growers never add up to an over-grown pool, and a shrink set against an
 * epoch that a growth has since passed is refused rather than undoing the growth.
 */
export interface PoolSizeStore {
  /** The pool-size record of `key`, or null when none was ever set (the pool starts at its starting size). */
  getPoolSize(key: string): Promise<PoolSizeRecord | null>;

  /**
   * Sets `key`'s pool size to `size` (an integer >= 1) with epoch `expectedEpoch + 1`, unless the
   * stored record's epoch is newer than `expectedEpoch` (0 when none was read). Returns whether it
   * landed. Not published: instances read the record when they consider growing or shrinking, and
   * at a modest interval, since a slot an instance does not use yet costs nothing.
   */
  setPoolSize(key: string, expectedEpoch: number, size: number, updatedAt: number, stopped?: string): Promise<boolean>;
}

/**
 * The fleet's count of requests per pool slot, per second, for budgets counted by the sidecars
 * themselves (an upstream that sends no budget headers, as Genesys since 2021: docs/genesys.md §5).
 * Each instance counts its own sends and hands them over in batches (a few calls a second whatever
 * the request rate); every call also answers what the whole fleet sent, so a slot's budget is the
 * fleet's, not one instance's.
 */
export interface RateCountStore {
  /**
   * Under `key` (rateKey()), adds each counter's delta to its bucket number `bucket` (the caller's
   * clock divided by its bucket length), and answers, counter by counter, the fleet's requests in the
   * buckets from `bucket - windowBuckets` on: the current bucket and the `windowBuckets` whole ones
   * before it, a span at least as long as the window, so the count is never low for a limit counted
   * over a fixed or a sliding window. A counter is named by the caller (a slot and its token's
   * generation: each token has its own budget). Buckets more than 2 × windowBuckets + 2 old are
   * dropped; a counter nobody adds to is gone after `ttlSeconds`. Several nodes: the highest count
   * any answering node holds.
   */
  addRateCounts(key: string, bucket: number, windowBuckets: number, ttlSeconds: number, counters: readonly RateCounter[]): Promise<number[]>;
}

/** One counter of RateCountStore.addRateCounts: its name under the pool's key and what to add. */
export interface RateCounter {
  readonly name: string;
  readonly delta: number;
}

/** The oldest bucket a store keeps for a count over `windowBuckets` whole buckets up to `bucket`. */
export function oldestKeptBucket(bucket: number, windowBuckets: number): number {
  return bucket - 2 * windowBuckets - 2;
}

/** Rejects what no pool can be: a size below 1 or a fraction, an epoch below 0. */
export function checkPoolSizeArguments(expectedEpoch: number, size: number): void {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`pool size must be an integer of at least 1, got ${size}`);
  if (!Number.isSafeInteger(expectedEpoch) || expectedEpoch < 0) throw new RangeError(`pool epoch must be an integer of at least 0, got ${expectedEpoch}`);
}

export type StoreListener = (event: StoreEvent) => void;

export type StoreEvent =
  | { readonly type: 'stored'; readonly key: string; readonly token: Token }
  | { readonly type: 'invalidated'; readonly key: string; readonly generation: number };

/** The identity of one profile's pool: which endpoint, which client, which profile. */
export type PoolIdentity = Omit<TokenIdentity, 'slot'>;

/** The identity of one token lifecycle: which endpoint, which client, which profile and pool slot. */
export interface TokenIdentity {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly profile: string;
  readonly slot: number;
}
