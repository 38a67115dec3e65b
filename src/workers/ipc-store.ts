import type { HeldLock, RefreshLock } from '../lock/lock.js';
import type { StoreEvent, StoreListener, TokenStore } from '../store/store.js';
import type { Token } from '../token/token.js';
import { IpcCaller, type IpcChannel } from './ipc-call.js';
import { isMessage, type StoreEventMessage, type StoreOp, type StoreReply } from './ipc-protocol.js';

/** How long a worker waits for the primary before treating the store as unreachable. */
const IPC_TIMEOUT_MS = 2_000;

/**
 * A worker's view of the in-memory store and lock held by the primary process (WORKERS > 1
 * without Redis): every call is one IPC round trip, and the primary broadcasts store events to all
 * workers, so workers share one token lifecycle exactly as instances sharing Redis do. The request
 * path never uses it in steady state (tokens are held in the worker's own slots).
 */
export class IpcStoreClient {
  private readonly caller: IpcCaller<StoreReply>;
  private readonly listeners = new Set<StoreListener>();

  constructor(channel: IpcChannel) {
    this.caller = new IpcCaller<StoreReply>(channel, 'store-reply', IPC_TIMEOUT_MS);
    channel.on('message', (message) => {
      if (isMessage<StoreEventMessage>(message, 'store-event')) for (const listener of this.listeners) listener(message.event as StoreEvent);
    });
  }

  async call<T>(op: StoreOp, ...args: unknown[]): Promise<T> {
    const reply = await this.caller.call({ t: 'store', op, args }, `store ${op} (primary process)`);
    if (!reply.ok) throw new Error(reply.error ?? 'store call failed in the primary process');
    return reply.value as T;
  }

  addListener(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export class IpcTokenStore implements TokenStore {
  readonly available = true;

  constructor(private readonly client: IpcStoreClient) {}

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
  async subscribe(listener: StoreListener): Promise<() => Promise<void>> {
    const remove = this.client.addListener(listener);
    return async () => void remove();
  }
  onAvailabilityChange(): void {
    // The primary is this store: it is available as long as this worker runs.
  }
  async close(): Promise<void> {}
}

export class IpcRefreshLock implements RefreshLock {
  constructor(private readonly client: IpcStoreClient) {}

  async tryAcquire(key: string, ttlMs: number): Promise<HeldLock | null> {
    const lockId = await this.client.call<number | null>('lockAcquire', key, ttlMs);
    if (lockId === null) return null;
    return { release: () => this.client.call('lockRelease', lockId).then(() => undefined, () => undefined) };
  }

  async close(): Promise<void> {}
}
