import type { Logger } from 'pino';
import type { RefreshLock } from '../lock/lock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TokenStore } from '../store/store.js';
import type { Clock } from '../token/clock.js';
import { isFresh, type Token } from '../token/token.js';
import type { TokenFetcher } from './fetch-token.js';

export interface CoordinatedDeps {
  readonly profile: string;
  readonly key: string;
  readonly store: TokenStore;
  readonly lock: RefreshLock;
  readonly fetcher: TokenFetcher;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Refresh lock TTL: longer than the fetcher's whole budget. */
  readonly lockTtlMs: number;
  /** Resolves when this instance learns (by publication) of a token newer than `after`, or null. */
  readonly waitForNewer: (after: number, timeoutMs: number) => Promise<Token | null>;
}

/** How often a loser re-reads the store while it waits, in case a publication was missed. */
const POLL_MS = 250;

/**
 * Fleet-wide single fetch: returns a fresh token whose generation is newer than `after`, calling
 * the token endpoint only if no instance sharing the store has one.
 *
 * Protocol: read the store; try-lock; double-check the store; reserve a generation; fetch
 * (budget below the lock TTL); compare-and-set write, which publishes; release. A loser does not call
 * the token endpoint: it waits for the publication, re-reading the store every POLL_MS, and tries the
 * lock again if the holder vanished (lock TTL elapsed without a new token).
 *
 * When the store or lock service is unreachable, it fetches without coordination (in-process single
 * flight is the caller's) and marks the token `local`: clients keep being served.
 */
export class CoordinatedRefresher {
  constructor(private readonly deps: CoordinatedDeps) {}

  async obtain(after: number): Promise<Token> {
    const { store, lock, clock, metrics, profile, key } = this.deps;
    const waitStarted = clock.now();
    let lockAttempts = 0;
    for (;;) {
      let acquired;
      try {
        const stored = await store.get(key);
        if (this.isUsable(stored, after)) return stored;
        lockAttempts++;
        acquired = await lock.tryAcquire(`${key}:lock`, this.deps.lockTtlMs);
      } catch (err) {
        metrics.lockAcquisitions.inc({ profile, result: 'failed' });
        return this.fetchUncoordinated(after, err as Error);
      }

      if (acquired) {
        metrics.lockAcquisitions.inc({ profile, result: 'acquired' });
        metrics.lockWait.observe({ profile }, (clock.now() - waitStarted) / 1000);
        try {
          return await this.refreshHoldingLock(after);
        } finally {
          await acquired.release();
        }
      }

      metrics.lockAcquisitions.inc({ profile, result: 'contended' });
      if (lockAttempts === 1) this.deps.log.info({ profile }, 'refresh lock contended: waiting for the holder to publish');
      const published = await this.waitForHolder(after);
      if (published) {
        metrics.lockWait.observe({ profile }, (clock.now() - waitStarted) / 1000);
        return published;
      }
      // The holder's lock expired without a publication (it stalled or died): try again ourselves.
    }
  }

  private async refreshHoldingLock(after: number): Promise<Token> {
    const { store, key, fetcher } = this.deps;
    // Double-check: another instance may have written between our read and our lock.
    const stored = await store.get(key);
    if (this.isUsable(stored, after)) return stored;
    const generation = await store.nextGeneration(key);
    const token = await fetcher(generation, { local: false });
    if (await store.putIfNewer(key, token)) return token;
    // A newer generation landed while we fetched (our lock expired mid-fetch): theirs wins.
    const newer = await store.get(key);
    return this.isUsable(newer, after) ? newer : token;
  }

  /** Waits up to one lock TTL for the holder's token: by publication, or found by polling. */
  private async waitForHolder(after: number): Promise<Token | null> {
    const { store, key, clock } = this.deps;
    const deadline = clock.now() + this.deps.lockTtlMs;
    while (clock.now() < deadline) {
      const published = await this.deps.waitForNewer(after, Math.min(POLL_MS, deadline - clock.now()));
      if (this.isUsable(published, after)) return published;
      const stored = await store.get(key).catch(() => null);
      if (this.isUsable(stored, after)) return stored;
    }
    return null;
  }

  private async fetchUncoordinated(after: number, cause: Error): Promise<Token> {
    this.deps.log.debug({ profile: this.deps.profile, err: cause.message }, 'shared store unreachable: fetching a token for this instance only');
    return this.deps.fetcher(after + 1, { local: true });
  }

  private isUsable(token: Token | null, after: number): token is Token {
    return token !== null && token.generation > after && isFresh(token, this.deps.clock.now());
  }
}

