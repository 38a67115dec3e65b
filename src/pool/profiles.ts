import type { Logger } from 'pino';
import type { TokenPool } from './pool.js';

/** Something that listens to the shared store while the sidecar runs (the coordinated sources). */
export interface StoreSubscriber {
  /** Rejects when the store cannot be subscribed to yet (it retries by itself when it comes back). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every configured profile's token pool by name, and what the admin port asks of them. Built by the
 * composition root; starting it subscribes to the store first, so no publication made while the
 * first tokens are fetched is missed.
 */
export class TokenProfiles {
  private readonly pools: ReadonlyMap<string, TokenPool>;

  constructor(
    private readonly defaultProfile: string,
    pools: readonly TokenPool[],
    private readonly subscribers: readonly StoreSubscriber[],
    private readonly log: Logger,
  ) {
    this.pools = new Map(pools.map((pool) => [pool.profile, pool]));
  }

  /** The pool a request asked for (x-token-profile), or the default one; undefined if unknown. */
  pool(name: string | undefined): TokenPool | undefined {
    return this.pools.get(name ?? this.defaultProfile);
  }

  get all(): TokenPool[] {
    return [...this.pools.values()];
  }

  /** True when every profile holds a valid token. */
  get ready(): boolean {
    return this.all.every((pool) => pool.ready);
  }

  /** Subscribes to the store's publications, then fetches every slot's first token in the background. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.subscribers.map((subscriber) => subscriber.start()));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) {
      // The store retries its subscription itself when it comes back; serve meanwhile.
      this.log.warn({ err: (failure.reason as Error).message }, 'could not subscribe to token publications yet');
    }
    for (const pool of this.pools.values()) pool.start();
  }

  async stop(): Promise<void> {
    for (const pool of this.pools.values()) pool.stop();
    await Promise.all(this.subscribers.map((subscriber) => subscriber.stop()));
  }
}
