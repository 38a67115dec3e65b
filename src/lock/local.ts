/**
 * The refresh lock of one process (memory store). Same contract as the Redlock lock: try-lock,
 * never waits; a held lock lapses after its TTL, by the injected clock, so a holder that never
 * releases (a stuck fetch) blocks the others for one TTL at most; releasing only ever frees the
 * caller's own hold, never that of whoever took the lock after it lapsed.
 */
import type { HeldLock, RefreshLock } from './lock.js';

export interface LocalRefreshLockOptions {
  /** Clock for TTLs (default Date.now). */
  readonly now?: () => number;
}

interface Hold {
  readonly expiresAt: number;
}

export class LocalRefreshLock implements RefreshLock {
  private readonly now: () => number;
  /** The current hold of each key; compared by identity on release. */
  private readonly holds = new Map<string, Hold>();

  constructor(options: LocalRefreshLockOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async tryAcquire(key: string, ttlMs: number): Promise<HeldLock | null> {
    const now = this.now();
    const current = this.holds.get(key);
    if (current && current.expiresAt > now) return null;
    const hold: Hold = { expiresAt: now + ttlMs };
    this.holds.set(key, hold);
    return {
      release: async () => {
        if (this.holds.get(key) === hold) this.holds.delete(key);
      },
    };
  }

  async close(): Promise<void> {
    this.holds.clear();
  }
}
