import type { IpcBackendClient } from '../ipc/backend-client.js';
import type { BackendOperations } from '../ipc/backend-host.js';
import type { Token } from '../token/token.js';
import {
  checkPoolSizeArguments,
  checkReserveArguments,
  type HaltRecord,
  type PoolSizeRecord,
  type RateCounter,
  type RequestReservation,
  type StoreEvent,
  type StoreListener,
  type TokenStore,
} from './store.js';

/**
 * A worker's view of the in-memory store held by the primary process (WORKERS > 1 without Redis,
 * see `storeOperations`): every call is one IPC round trip, and the primary broadcasts store
 * events to all workers, so workers share one token lifecycle exactly as instances sharing Redis
 * do. The request path never uses it in steady state (tokens are held in the worker's own slots).
 * A call the primary does not answer within the client's timeout rejects, like an unreachable Redis.
 */
export class IpcTokenStore implements TokenStore {
  readonly available = true;

  constructor(private readonly client: IpcBackendClient) {}

  get(key: string): Promise<Token | null> {
    return this.client.call('get', key);
  }
  nextGeneration(key: string): Promise<number> {
    return this.client.call('nextGeneration', key);
  }
  putIfNewer(key: string, token: Token): Promise<boolean> {
    return this.client.call('putIfNewer', key, token);
  }
  invalidate(key: string, generation: number): Promise<boolean> {
    return this.client.call('invalidate', key, generation);
  }
  getRefreshToken(key: string): Promise<string | null> {
    return this.client.call('getRefreshToken', key);
  }
  putRefreshToken(key: string, refreshToken: string, generation: number): Promise<boolean> {
    return this.client.call('putRefreshToken', key, refreshToken, generation);
  }
  getPoolSize(key: string): Promise<PoolSizeRecord | null> {
    return this.client.call('getPoolSize', key);
  }
  async setPoolSize(key: string, expectedEpoch: number, size: number, updatedAt: number, stopped?: string): Promise<boolean> {
    // Checked here, not only by the primary: an error's class does not survive the IPC round trip.
    checkPoolSizeArguments(expectedEpoch, size);
    return this.client.call('setPoolSize', key, expectedEpoch, size, updatedAt, stopped ?? null);
  }
  addRateCounts(key: string, bucket: number, windowBuckets: number, ttlSeconds: number, counters: readonly RateCounter[]): Promise<number[]> {
    return this.client.call('addRateCounts', key, bucket, windowBuckets, ttlSeconds, counters);
  }
  async reserveRequests(key: string, limit: number, maxBlock: number): Promise<RequestReservation> {
    checkReserveArguments(limit, maxBlock);
    return this.client.call('reserveRequests', key, limit, maxBlock);
  }
  resetRequests(key: string): Promise<void> {
    return this.client.call('resetRequests', key);
  }
  getHalt(key: string): Promise<HaltRecord | null> {
    return this.client.call('getHalt', key);
  }
  setHalt(key: string, record: HaltRecord): Promise<void> {
    return this.client.call('setHalt', key, record);
  }
  async subscribe(listener: StoreListener): Promise<() => Promise<void>> {
    const remove = this.client.addListener((event) => listener(event as StoreEvent));
    return async () => void remove();
  }
  onAvailabilityChange(): void {
    // The primary is this store: it is available as long as this worker runs.
  }
  async close(): Promise<void> {}
}

/** The primary's side: the operations IpcTokenStore calls, on the store the primary holds. */
export function storeOperations(store: TokenStore): BackendOperations {
  return {
    get: (key) => store.get(key as string),
    nextGeneration: (key) => store.nextGeneration(key as string),
    putIfNewer: (key, token) => store.putIfNewer(key as string, token as Token),
    invalidate: (key, generation) => store.invalidate(key as string, generation as number),
    getRefreshToken: (key) => store.getRefreshToken(key as string),
    putRefreshToken: (key, refreshToken, generation) => store.putRefreshToken(key as string, refreshToken as string, generation as number),
    getPoolSize: (key) => store.getPoolSize(key as string),
    setPoolSize: (key, epoch, size, updatedAt, stopped) =>
      store.setPoolSize(key as string, epoch as number, size as number, updatedAt as number, (stopped as string | null) ?? undefined),
    addRateCounts: (key, bucket, windowBuckets, ttlSeconds, counters) =>
      store.addRateCounts(key as string, bucket as number, windowBuckets as number, ttlSeconds as number, counters as RateCounter[]),
    reserveRequests: (key, limit, maxBlock) => store.reserveRequests(key as string, limit as number, maxBlock as number),
    resetRequests: (key) => store.resetRequests(key as string),
    getHalt: (key) => store.getHalt(key as string),
    setHalt: (key, record) => store.setHalt(key as string, record as HaltRecord),
  };
}
