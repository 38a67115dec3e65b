import type { IpcBackendClient } from '../ipc/backend-client.js';
import type { BackendOperations } from '../ipc/backend-host.js';
import type { HeldLock, RefreshLock } from './lock.js';

/**
 * A worker's view of the local lock held by the primary process (WORKERS > 1 without Redis, see
 * `lockOperations`): the primary keeps the hold and its TTL; a worker holds only its id.
 */
export class IpcRefreshLock implements RefreshLock {
  constructor(private readonly client: IpcBackendClient) {}

  async tryAcquire(key: string, ttlMs: number): Promise<HeldLock | null> {
    const lockId = await this.client.call<number | null>('lockAcquire', key, ttlMs);
    if (lockId === null) return null;
    return { release: () => this.client.call('lockRelease', lockId).then(() => undefined, () => undefined) };
  }

  async close(): Promise<void> {}
}

/** The primary's side: the operations IpcRefreshLock calls, on the lock the primary holds. */
export function lockOperations(lock: RefreshLock): BackendOperations {
  const held = new Map<number, HeldLock>();
  let nextLockId = 1;
  return {
    lockAcquire: async (key, ttlMs) => {
      const hold = await lock.tryAcquire(key as string, ttlMs as number);
      if (!hold) return null;
      const id = nextLockId++;
      held.set(id, hold);
      // Forget the handle once its TTL has passed: the lock has freed itself by then.
      setTimeout(() => held.delete(id), ttlMs as number).unref();
      return id;
    },
    lockRelease: async (id) => {
      const hold = held.get(id as number);
      held.delete(id as number);
      await hold?.release();
      return null;
    },
  };
}
