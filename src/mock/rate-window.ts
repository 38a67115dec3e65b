/**
 * Fixed-window request counting for the mock's rate limits (the token endpoint's, and each access
 * token's per docs/genesys.md §5). A window opens at the first hit after the previous one closed and lasts
 * `windowMs`; time comes from the caller so tests drive it with an injected clock.
 */
export class FixedWindowCounter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private hits = 0;

  constructor(private readonly windowMs: number) {}

  /** Records one hit at `now` and returns the number of hits in the current window, this one included. */
  hit(now: number): number {
    if (now >= this.windowStart + this.windowMs) {
      this.windowStart = now;
      this.hits = 0;
    }
    return ++this.hits;
  }

  /** Whole seconds until the current window closes, at least 1: the `Retry-After` and `inin-ratelimit-reset` value. */
  secondsUntilReset(now: number): number {
    return Math.max(1, Math.ceil((this.windowStart + this.windowMs - now) / 1000));
  }

  reset(): void {
    this.windowStart = Number.NEGATIVE_INFINITY;
    this.hits = 0;
  }
}
