import type { Clock, TimerHandle } from '../token/clock.js';
import type { Token } from '../token/token.js';

/**
 * Callers waiting for a token newer than a generation to be published by the store. Remembers the
 * newest publication, so a caller that starts waiting after it arrived does not wait for another.
 * Single-threaded: `published` resolves every waiter it satisfies before the next event is handled.
 */
export class PublicationWaiters {
  private latest: Token | undefined;
  private readonly waiters = new Set<{ after: number; resolve: (token: Token | null) => void }>();

  constructor(private readonly clock: Clock) {}

  /** A stored token was published (by any instance). */
  published(token: Token): void {
    if (token.local || (this.latest && this.latest.generation >= token.generation)) return;
    this.latest = token;
    for (const waiter of this.waiters) if (token.generation > waiter.after) waiter.resolve(token);
  }

  /** The token of `generation` was invalidated: it is no longer an answer. */
  withdrawn(generation: number): void {
    if (this.latest?.generation === generation) this.latest = undefined;
  }

  /** Resolves with the first published token newer than `after`, or null after `timeoutMs`. */
  newerThan(after: number, timeoutMs: number): Promise<Token | null> {
    const latest = this.latest;
    if (latest && latest.generation > after) return Promise.resolve(latest);
    return new Promise((resolve) => {
      let handle: TimerHandle | undefined;
      const waiter = {
        after,
        resolve: (token: Token | null) => {
          if (handle) this.clock.clearTimeout(handle);
          this.waiters.delete(waiter);
          resolve(token);
        },
      };
      handle = this.clock.setTimeout(() => waiter.resolve(null), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves every waiter with null (shutting down). */
  cancelAll(): void {
    for (const waiter of this.waiters) waiter.resolve(null);
  }
}
