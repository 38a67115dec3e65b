import { SidecarError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { TokenStore } from '../store/store.js';
import type { Clock } from '../token/clock.js';

export interface RequestCapOptions {
  readonly store: TokenStore;
  /** requestCountKey(prefix): one count for the whole fleet on the store. */
  readonly key: string;
  /** MAX_REQUESTS. */
  readonly limit: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** The largest block one reservation takes (default 100). */
  readonly block?: number;
}

/** How long an instance that was told "nothing left", or could not reach the store, waits before asking again. */
export const CAP_RECHECK_MS = 500;

/**
 * MAX_REQUESTS for one instance: permits taken from blocks reserved in the shared store
 * (TokenStore.reserveRequests), so the store sees one command per block, never one per request.
 * The next block is asked for in the background when a quarter of the current one is left, so in
 * steady state `take()` answers at once. With no permit in hand and a block on its way, callers wait
 * for it. Once the store says nothing is left, the instance refuses, and asks again at most every
 * CAP_RECHECK_MS (so a reset, POST /admin/requests/reset, reaches every instance within that time).
 * A store that cannot be reached refuses too (the brake holds): the message says so.
 *
 * Single-threaded; one reservation in flight at a time.
 */
export class RequestCap {
  private left = 0;
  private reserving: Promise<void> | undefined;
  /** When the store last said nothing is left or could not be reached; 0 while permits may come. */
  private refusedAt = 0;
  private unreachable = false;
  private readonly block: number;
  /** The fleet's count after this instance's last reservation. */
  usedByFleet = 0;

  constructor(private readonly options: RequestCapOptions) {
    this.block = options.block ?? 100;
  }

  get limit(): number {
    return this.options.limit;
  }

  /** The permits this instance holds unused. */
  get held(): number {
    return this.left;
  }

  /** A permit now (true), none (false: refuse), or a promise while a block is on its way. */
  take(): boolean | Promise<boolean> {
    if (this.left > 0) {
      this.left--;
      if (this.left * 4 < this.block && this.reserving === undefined && this.refusedAt === 0) void this.reserve();
      return true;
    }
    if (!this.mayAsk()) return false;
    return this.reserve().then(() => {
      if (this.left > 0) {
        this.left--;
        return true;
      }
      return this.refusedAt === 0 ? this.take() : false;
    });
  }

  /** A permit if one is in hand now, without waiting (a replay does not wait; it asks for the next block). */
  takeNow(): boolean {
    if (this.left > 0) return this.take() as true;
    if (this.mayAsk()) void this.reserve();
    return false;
  }

  private mayAsk(): boolean {
    return this.refusedAt === 0 || this.options.clock.now() - this.refusedAt >= CAP_RECHECK_MS;
  }

  /** Why a request was refused. */
  refusal(): SidecarError {
    return this.unreachable
      ? new SidecarError('requestCap', `MAX_REQUESTS is ${this.options.limit} and the store holding the run's count cannot be reached: refusing rather than passing the cap; the upstream was not called`, { retryAfterSeconds: 1 })
      : new SidecarError('requestCap', `MAX_REQUESTS: all ${this.options.limit} requests of this run have been sent (fleet-wide); the upstream was not called`);
  }

  /** Forgets the refusal and the permits in hand: the count was reset in the store. */
  forget(): void {
    this.left = 0;
    this.refusedAt = 0;
  }

  /** The first block, before the proxy takes requests (failures are retried by the first requests). */
  start(): Promise<void> {
    return this.reserve();
  }

  private reserve(): Promise<void> {
    this.reserving ??= this.options.store.reserveRequests(this.options.key, this.options.limit, this.block).then(
      ({ granted, used }) => {
        this.reserving = undefined;
        this.unreachable = false;
        this.usedByFleet = used;
        this.left += granted;
        this.refusedAt = granted === 0 ? this.options.clock.now() : 0;
      },
      (err: Error) => {
        this.reserving = undefined;
        if (!this.unreachable) this.options.log.warn({ err: err.message }, 'MAX_REQUESTS: the run\'s count could not be reserved from the store; refusing until it can');
        this.unreachable = true;
        this.refusedAt = this.options.clock.now();
      },
    );
    return this.reserving;
  }
}
