/**
 * Request counting for the mock's rate limits (the token endpoint's, and the API limit of
 * docs/genesys.md §5). Genesys does not say whether a token's minute is a fixed window or a sliding
 * one, so the API limit can use either (`mock --window-kind`). Time comes from the caller so tests
 * drive it with an injected clock.
 */

/** One counted window of the API limit. */
export interface RateWindow {
  /**
   * Counts one request at `now` and returns the number of requests in the window, this one
   * included. A result above the window's limit means the request is refused.
   */
  hit(now: number): number;
  /** Whole seconds until quota comes back, at least 1: the `Retry-After` and every header's reset value. */
  secondsUntilReset(now: number): number;
  /** The epoch millisecond at which that happens, for headers that send a point in time. */
  resetsAt(now: number): number;
}

export type WindowKind = 'fixed' | 'sliding';

/**
 * A fixed window: it opens at the first hit after the previous one closed and lasts `windowMs`.
 * Every hit counts, refused ones included, as a real limiter's counter does, so the count a client
 * sees keeps rising while it keeps knocking; the window still closes on time.
 */
export class FixedWindowCounter implements RateWindow {
  private windowStart = Number.NEGATIVE_INFINITY;
  private hits = 0;

  constructor(private readonly windowMs: number) {}

  hit(now: number): number {
    if (now >= this.windowStart + this.windowMs) {
      this.windowStart = now;
      this.hits = 0;
    }
    return ++this.hits;
  }

  secondsUntilReset(now: number): number {
    return Math.max(1, Math.ceil((this.resetsAt(now) - now) / 1000));
  }

  resetsAt(now: number): number {
    return Math.max(now, this.windowStart + this.windowMs);
  }

  reset(): void {
    this.windowStart = Number.NEGATIVE_INFINITY;
    this.hits = 0;
  }
}

/**
 * A sliding window (a log of admitted requests): a request is admitted when fewer than `limit`
 * requests were admitted in the `windowMs` before it. Refused requests are not logged, so the log
 * never holds more than `limit` entries and a client that keeps knocking is let in as soon as the
 * oldest admitted request leaves the window.
 */
export class SlidingWindowLog implements RateWindow {
  /** Times of admitted requests, oldest first; entries before `head` have left the window. */
  private admitted: number[] = [];
  private head = 0;

  constructor(
    private readonly windowMs: number,
    private readonly limit: number,
  ) {}

  hit(now: number): number {
    this.forget(now);
    const inWindow = this.admitted.length - this.head;
    if (inWindow >= this.limit) return this.limit + 1;
    this.admitted.push(now);
    return inWindow + 1;
  }

  secondsUntilReset(now: number): number {
    return Math.max(1, Math.ceil((this.resetsAt(now) - now) / 1000));
  }

  /** When the oldest admitted request leaves the window and frees one unit of quota. */
  resetsAt(now: number): number {
    this.forget(now);
    const oldest = this.admitted[this.head];
    return oldest === undefined ? now + this.windowMs : oldest + this.windowMs;
  }

  private forget(now: number): void {
    while (this.head < this.admitted.length && this.admitted[this.head]! <= now - this.windowMs) this.head++;
    // Compact once the dead prefix outgrows the live part, so the array stays within 2 x limit.
    if (this.head > 0 && this.head >= this.admitted.length - this.head) {
      this.admitted = this.admitted.slice(this.head);
      this.head = 0;
    }
  }
}

export function newRateWindow(kind: WindowKind, windowMs: number, limit: number): RateWindow {
  return kind === 'fixed' ? new FixedWindowCounter(windowMs) : new SlidingWindowLog(windowMs, limit);
}
