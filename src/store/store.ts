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
export interface TokenStore {
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
}

export type StoreListener = (event: StoreEvent) => void;

export type StoreEvent =
  | { readonly type: 'stored'; readonly key: string; readonly token: Token }
  | { readonly type: 'invalidated'; readonly key: string; readonly generation: number };

/** The identity of one token lifecycle: which endpoint, which client, which profile and pool slot. */
export interface TokenIdentity {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly profile: string;
  readonly slot: number;
}
