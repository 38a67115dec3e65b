/**
 * The refresh lock: an efficiency device so that one instance, not all, calls the token endpoint.
 * Correctness does not depend on it (the store's compare-and-set does): a lock that expires while
 * its holder stalls can at worst cost one extra token request, never a stale token.
 *
 * `tryAcquire` never waits for a holder: it answers at once (after one quorum round trip) so a loser
 * can go and wait for the winner's publication instead.
 */
export interface RefreshLock {
  /**
   * Returns a held lock, or null when another holder has it. Rejects when the lock service fails.
   * `key` names what is locked (callers pass the lifecycle's store key as it is); an implementation
   * that keeps its holds beside the store's data (Redlock) derives a name of its own from it.
   */
  tryAcquire(key: string, ttlMs: number): Promise<HeldLock | null>;
  close(): Promise<void>;
}

export interface HeldLock {
  /** Releases if still ours; never throws (an expired lock is simply gone). */
  release(): Promise<void>;
}
