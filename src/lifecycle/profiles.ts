import type { Logger } from 'pino';
import type { Config, ProfileConfig } from '../config/types.js';
import type { RefreshLock } from '../lock/lock.js';
import type { Metrics } from '../metrics/metrics.js';
import { tokenKey } from '../store/key.js';
import type { TokenStore } from '../store/store.js';
import type { Clock } from '../token/clock.js';
import { CoordinatedRefresher } from './coordinated.js';
import { createTokenFetcher } from './fetch-token.js';
import { TokenPool } from './pool.js';
import { TokenSlot } from './slot.js';

export interface LifecycleDeps {
  readonly store: TokenStore;
  readonly lock: RefreshLock;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly instanceId: string;
  readonly random?: () => number;
}

/** Every configured profile's token pool, wired to one store and lock. */
export class TokenProfiles {
  private readonly pools = new Map<string, TokenPool>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly config: Config,
    private readonly deps: LifecycleDeps,
  ) {
    for (const profile of config.profiles) this.pools.set(profile.name, this.buildPool(profile));
  }

  /** The pool a request asked for (x-token-profile), or the default one; undefined if unknown. */
  pool(name: string | undefined): TokenPool | undefined {
    return this.pools.get(name ?? this.config.defaultProfile);
  }

  get all(): TokenPool[] {
    return [...this.pools.values()];
  }

  /** Subscribes to the store's publications, then fetches every slot's first token in the background. */
  async start(): Promise<void> {
    try {
      this.unsubscribe = await this.deps.store.subscribe((event) => {
        for (const pool of this.pools.values()) if (pool.onStoreEvent(event)) return;
      });
    } catch (err) {
      // The store retries its subscription itself when it comes back; serve meanwhile.
      this.deps.log.warn({ err: (err as Error).message }, 'could not subscribe to token publications yet');
    }
    for (const pool of this.pools.values()) pool.start();
  }

  async stop(): Promise<void> {
    for (const pool of this.pools.values()) pool.stop();
    await this.unsubscribe?.().catch(() => {});
  }

  private buildPool(profile: ProfileConfig): TokenPool {
    const { config, deps } = this;
    const { log } = deps;
    // One fetch may take the whole token timeout including retries; the lock outlives it so a
    // working holder is never overtaken, and an abandoned lock frees itself soon after.
    const budgetMs = config.tokenTimeoutMs;
    const lockTtlMs = budgetMs + 5_000;
    const slots: TokenSlot[] = [];
    const keys: string[] = [];
    for (let slot = 0; slot < profile.poolSize; slot++) {
      const key = tokenKey(config.redisKeyPrefix, { tokenUrl: profile.tokenUrl, clientId: profile.clientId, profile: profile.name, slot });
      const fetcher = createTokenFetcher({ profile, store: deps.store, key, clock: deps.clock, metrics: deps.metrics, log, instanceId: deps.instanceId, budgetMs });
      let tokenSlot: TokenSlot | undefined;
      const refresher = new CoordinatedRefresher({
        profile: profile.name,
        key,
        store: deps.store,
        lock: deps.lock,
        fetcher,
        clock: deps.clock,
        metrics: deps.metrics,
        log,
        lockTtlMs,
        waitForNewer: (after, timeoutMs) => tokenSlot!.waitForNewer(after, timeoutMs),
      });
      tokenSlot = new TokenSlot({ profile: profile.name, slot, key, store: deps.store, refresher, clock: deps.clock, metrics: deps.metrics, log, refreshAt: config.refreshAt, random: deps.random, inject: { header: profile.injectHeader, prefix: profile.injectPrefix } });
      slots.push(tokenSlot);
      keys.push(key);
    }
    return new TokenPool(profile.name, slots, keys);
  }
}
