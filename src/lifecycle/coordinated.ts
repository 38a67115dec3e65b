import type { Logger } from 'pino';
import type { RefreshLock } from '../lock/lock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { StoreEvent, TokenStore } from '../store/store.js';
import { sleep, type Clock } from '../token/clock.js';
import type { SharedTokenEvent, SharedTokenSource, TokenRequest, TokenSource } from '../token/source.js';
import { isFresh, type Token } from '../token/token.js';
import { PublicationWaiters } from './publication-waiters.js';

export interface CoordinatedDeps {
  readonly profile: string;
  /** The store key of this lifecycle (tokenKey()); also the name of its refresh lock. */
  readonly key: string;
  readonly store: TokenStore;
  readonly lock: RefreshLock;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Refresh lock TTL: longer than the wrapped source's whole budget. */
  readonly lockTtlMs: number;
}

/** How often a loser re-reads the store while it waits, in case a publication was missed. */
const POLL_MS = 250;

/**
 * How often a loser tries the lock again while it waits: a holder that let go without publishing
 * (its fetch failed, or its token could not be stored and stayed its own) is followed then, instead
 * of after the rest of the lock's TTL with the fleet's token going stale meanwhile. While the holder
 * still holds the lock, the try finds it held and the wait goes on.
 */
const HOLDER_RECHECK_MS = 1_000;

/**
 * How long before the held token stops being fresh a refresh stops waiting for the store and fetches
 * a token of its own: room for that fetch. How often it looks whether the store is back meanwhile.
 */
const RIDE_OUT_MARGIN_MS = 1_000;
const RIDE_OUT_POLL_MS = 100;

/** waitForHolder's answer when the store stopped answering. */
const STORE_UNREACHABLE: unique symbol = Symbol('store unreachable');

/**
 * Fleet-wide single fetch: `token({ after })` returns a fresh token whose generation is newer than
 * `after`, asking the wrapped source only if no instance sharing the store has one.
 *
 * Protocol: read the store; try-lock; double-check the store; reserve a generation; fetch (budget
 * below the lock TTL); compare-and-set write, which publishes; release. A loser does not fetch: it
 * waits for the publication (it subscribes to the store itself, see `start()`), re-reading the store
 * every POLL_MS and trying the lock again every HOLDER_RECHECK_MS: it takes over once the holder let
 * go without publishing, or vanished (its lock's TTL elapsed).
 *
 * Concurrency: each call runs the protocol on its own; the caller (the refresh-ahead cache) makes it
 * one call per slot per process. Across processes the lock makes it one fetch per store, and the
 * store's compare-and-set keeps a stale writer (a holder that outlived its lock) from landing.
 *
 * When the store or lock service is unreachable, it fetches without coordination and the token is
 * marked `local`: clients keep being served. Except while the caller still holds a fresh token
 * (`heldFreshUntil`, a refresh ahead of expiry): then it waits for the store to come back (a Sentinel
 * or Cluster failover takes seconds) until shortly before that token stops being fresh, and runs the
 * protocol again. A fleet that rides out a failover this way makes no token request of its own for
 * it; one instance fetches once the store is back.
 */
export class CoordinatedTokenSource implements SharedTokenSource {
  private readonly waiters: PublicationWaiters;
  private readonly listeners = new Set<(event: SharedTokenEvent) => void>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly source: TokenSource,
    private readonly deps: CoordinatedDeps,
  ) {
    this.waiters = new PublicationWaiters(deps.clock);
  }

  /** Subscribes to the store's publications for this key. Rejects if the store cannot be subscribed to yet. */
  async start(): Promise<void> {
    this.unsubscribe = await this.deps.store.subscribe((event) => this.onStoreEvent(event));
  }

  async stop(): Promise<void> {
    this.waiters.cancelAll();
    await this.unsubscribe?.().catch(() => {});
  }

  watch(listener: (event: SharedTokenEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async invalidate(token: Token): Promise<void> {
    // A local token was never stored: there is nothing to withdraw fleet-wide.
    if (!token.local) await this.deps.store.invalidate(this.deps.key, token.generation).catch(() => false);
  }

  async token({ after, heldFreshUntil }: TokenRequest): Promise<Token> {
    const { store, lock, clock, metrics, profile, key } = this.deps;
    const waitStarted = clock.now();
    /** Set while this call waits on one holder: its rechecks that find the lock held are not new contention. */
    let waiting = false;
    for (;;) {
      let acquired;
      try {
        const stored = await store.get(key);
        if (this.isUsable(stored, after)) return stored;
        acquired = await lock.tryAcquire(key, this.deps.lockTtlMs);
      } catch (err) {
        metrics.lockAcquisitions.inc({ profile, result: 'failed' });
        if (await this.storeBackBefore(heldFreshUntil)) continue;
        return this.fetchLocally(after, err);
      }

      if (acquired) {
        metrics.lockAcquisitions.inc({ profile, result: 'acquired' });
        metrics.lockWait.observe({ profile }, (clock.now() - waitStarted) / 1000);
        try {
          return await this.refreshHoldingLock(after, heldFreshUntil);
        } finally {
          await acquired.release();
        }
      }

      if (!waiting) {
        metrics.lockAcquisitions.inc({ profile, result: 'contended' });
        this.deps.log.info({ profile }, 'refresh lock contended: waiting for the holder to publish');
        waiting = true;
      }
      const published = await this.waitForHolder(after);
      if (published === STORE_UNREACHABLE) {
        if (await this.storeBackBefore(heldFreshUntil)) continue;
        return this.fetchLocally(after, new Error('the store stopped answering while the lock holder fetched'));
      }
      if (published) {
        metrics.lockWait.observe({ profile }, (clock.now() - waitStarted) / 1000);
        return published;
      }
      // No publication within HOLDER_RECHECK_MS: read the store and try the lock again.
    }
  }

  /**
   * Holding the lock: double-check, reserve, fetch, write. A store that fails on the way is waited
   * for while the caller's token stays fresh (a failover), still holding the lock, which the new
   * primary has too when it was replicated; the others wait for this holder's publication meanwhile.
   */
  private async refreshHoldingLock(after: number, heldFreshUntil: number | undefined): Promise<Token> {
    const { store, key } = this.deps;
    let generation: number;
    for (;;) {
      try {
        // Double-check: another instance may have written between our read and our lock.
        const stored = await store.get(key);
        if (this.isUsable(stored, after)) return stored;
        generation = await store.nextGeneration(key);
        break;
      } catch (err) {
        if (await this.storeBackBefore(heldFreshUntil)) continue;
        // The store went away between the lock and the fetch: serve from a token of our own.
        return this.fetchLocally(after, err);
      }
    }
    const token = await this.source.token({ after: generation - 1 });
    let landed: boolean;
    for (;;) {
      try {
        landed = await store.putIfNewer(key, token);
        break;
      } catch {
        if (await this.storeBackBefore(heldFreshUntil)) continue;
        // Fetched but not stored: only this instance knows it, so it is held as a local token, which
        // any token from the store replaces once the store is back.
        return { ...token, local: true };
      }
    }
    if (landed) return token;
    // A newer generation landed while we fetched (our lock expired mid-fetch): theirs wins.
    const newer = await store.get(key).catch(() => null);
    return this.isUsable(newer, after) ? newer : token;
  }

  /**
   * Waits up to HOLDER_RECHECK_MS for the holder's token: by publication, or found by polling (null:
   * none yet). Gives up at once when the store stops answering: the holder cannot publish then, and
   * waiting out its lock would let the held token expire.
   */
  private async waitForHolder(after: number): Promise<Token | null | typeof STORE_UNREACHABLE> {
    const { store, key, clock } = this.deps;
    const deadline = clock.now() + Math.min(HOLDER_RECHECK_MS, this.deps.lockTtlMs);
    while (clock.now() < deadline) {
      const published = await this.waiters.newerThan(after, Math.min(POLL_MS, deadline - clock.now()));
      if (this.isUsable(published, after)) return published;
      const stored = await store.get(key).catch((): typeof STORE_UNREACHABLE => STORE_UNREACHABLE);
      if (stored === STORE_UNREACHABLE) return stored;
      if (this.isUsable(stored, after)) return stored;
    }
    return null;
  }

  /**
   * Waits for the store to be available again, until RIDE_OUT_MARGIN_MS before `heldFreshUntil`.
   * True when it is back in time; false at once when nothing fresh is held.
   */
  private async storeBackBefore(heldFreshUntil: number | undefined): Promise<boolean> {
    if (heldFreshUntil === undefined) return false;
    const { store, clock } = this.deps;
    const deadline = heldFreshUntil - RIDE_OUT_MARGIN_MS;
    if (clock.now() >= deadline) return false;
    this.deps.log.debug({ profile: this.deps.profile, waitMs: deadline - clock.now() }, 'shared store unreachable: riding it out on the held token');
    while (clock.now() < deadline) {
      await sleep(clock, Math.min(RIDE_OUT_POLL_MS, deadline - clock.now()));
      if (store.available) return true;
    }
    return false;
  }

  private fetchLocally(after: number, cause: unknown): Promise<Token> {
    this.deps.log.debug({ profile: this.deps.profile, err: (cause as Error)?.message }, 'shared store unreachable: fetching a token for this instance only');
    return this.source.token({ after, local: true });
  }

  private onStoreEvent(event: StoreEvent): void {
    if (event.key !== this.deps.key) return;
    const shared: SharedTokenEvent =
      event.type === 'stored' ? { type: 'stored', token: event.token } : { type: 'invalidated', generation: event.generation };
    if (event.type === 'stored') this.waiters.published(event.token);
    else this.waiters.withdrawn(event.generation);
    for (const listener of this.listeners) listener(shared);
  }

  private isUsable(token: Token | null, after: number): token is Token {
    return token !== null && token.generation > after && isFresh(token, this.deps.clock.now());
  }
}
