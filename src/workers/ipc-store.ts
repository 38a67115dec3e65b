import type { HeldLock, RefreshLock } from '../lock/lock.js';
import type { StoreEvent, StoreListener, TokenStore } from '../store/store.js';
import type { Token } from '../token/token.js';
import { isMessage, type StoreEventMessage, type StoreOp, type StoreReply, type StoreRequest } from './ipc-protocol.js';

/** How long a worker waits for the primary before treating the store as unreachable. */
const IPC_TIMEOUT_MS = 2_000;

interface Channel {
  send(message: StoreRequest): void;
  on(event: 'message', listener: (message: unknown) => void): void;
}

/**
 * A worker's view of the in-memory store and lock held by the primary process (WORKERS > 1
 * without Redis): every call is one IPC round trip, and the primary broadcasts store events to all
 * workers, so workers share one token lifecycle exactly as instances sharing Redis do. The request
 * path never uses it in steady state (tokens are held in the worker's own slots).
 */
export class IpcStoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly channel: Channel) {
    channel.on('message', (message) => {
      if (isMessage<StoreReply>(message, 'store-reply')) this.settle(message);
      else if (isMessage<StoreEventMessage>(message, 'store-event')) for (const listener of this.listeners) listener(message.event as StoreEvent);
    });
  }

  call<T>(op: StoreOp, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`primary process did not answer ${op} within ${IPC_TIMEOUT_MS} ms`));
      }, IPC_TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.channel.send({ t: 'store', id, op, args });
    });
  }

  addListener(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private settle(reply: StoreReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    clearTimeout(waiter.timer);
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(new Error(reply.error ?? 'store call failed in the primary process'));
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
