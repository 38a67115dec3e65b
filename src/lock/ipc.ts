import type { IpcBackendClient } from '../ipc/backend-client.js';
import type { HeldLock, RefreshLock } from './lock.js';

/**
 * A worker's view of the local lock held by the primary process (WORKERS > 1 without Redis, see
 * workers/store-host.ts): the primary keeps the hold and its TTL; a worker holds only its id.
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
