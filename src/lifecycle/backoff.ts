/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"),
 * never sooner than the server's Retry-After. `attempt` counts from 1.
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
