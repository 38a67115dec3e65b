import { TokenEndpointError } from '../token/endpoint.js';

/**
 * Exponential backoff with jitter (after the AWS architecture blog's "Exponential Backoff And
 * Jitter"): the delay is spread uniformly between half the base and the attempt's ceiling
 * (base × 2^(attempt−1), capped at max). Not full jitter: the floor of half the base keeps a burst of
 * failures from retrying at once. Never sooner than the server's Retry-After. `attempt` counts from 1.
 */
export function backoffDelay(
  attempt: number,
  opts: { baseMs: number; maxMs: number; retryAfterMs?: number; random?: () => number },
): number {
  const random = opts.random ?? Math.random;
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = opts.baseMs / 2 + random() * (ceiling - opts.baseMs / 2);
  return Math.max(jittered, opts.retryAfterMs ?? 0);
}

/**
 * The retry state of one lifecycle between failed refreshes: how many failed in a row, the last
 * error (one line, never a secret), and until when no new attempt is made. Plain state, no timers:
 * the cache asks it and schedules the retry itself.
 */
export class RetryBackoff {
  private failures = 0;
  private lastErrorText: string | null = null;
  private retryAt = 0;

  constructor(private readonly opts: { baseMs: number; maxMs: number; random?: () => number }) {}

  /** Records a failed refresh at `now`; returns the delay before the next attempt (Retry-After honoured). */
  failed(err: unknown, now: number): number {
    this.failures++;
    const retryAfterMs = err instanceof TokenEndpointError ? err.retryAfterMs : undefined;
    const delay = backoffDelay(this.failures, { ...this.opts, retryAfterMs });
    this.lastErrorText = err instanceof TokenEndpointError ? err.summary : String((err as Error)?.message ?? err);
    this.retryAt = now + delay;
    return delay;
  }

  succeeded(): void {
    this.failures = 0;
    this.lastErrorText = null;
    this.retryAt = 0;
  }

  /** Lifts the wait (a forced refresh), keeping the failure count and last error. */
  lift(): void {
    this.retryAt = 0;
  }

  get failureCount(): number {
    return this.failures;
  }

  get lastError(): string | null {
    return this.lastErrorText;
  }

  /** Epoch ms before which no new attempt is made (0: none pending). */
  get nextRetryAt(): number {
    return this.retryAt;
  }

  /** True while `now` is inside the wait after a failure. */
  isWaiting(now: number): boolean {
    return now < this.retryAt;
  }
}
