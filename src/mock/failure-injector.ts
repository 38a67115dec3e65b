/**
 * Injected failures (--fail-token-* and --fail-api-*): every Nth request, and every request inside a
 * time window counted from the mock's start, is answered with a chosen error status instead of being
 * served. This is how tests rehearse an upstream outage without one.
 */
import type { FastifyReply } from 'fastify';
import { injectedFailure, tooManyRequests } from './genesys-errors.js';
import type { TimeWindow } from './options.js';

export interface FailureRule {
  /** Every Nth request fails (0 = never). */
  every: number;
  status: number;
  /** Requests inside this window (ms after start) fail. */
  window: TimeWindow | null;
}

export class FailureInjector {
  private seen = 0;

  constructor(
    private readonly rule: FailureRule,
    private readonly startedAt: number,
  ) {}

  /** Counts one request and returns the status it must fail with, or undefined to serve it. */
  next(now: number): number | undefined {
    const { every, window, status } = this.rule;
    this.seen++;
    const nth = every > 0 && this.seen % every === 0;
    const elapsed = now - this.startedAt;
    const inWindow = window !== null && elapsed >= window.startMs && elapsed < window.endMs;
    return nth || inWindow ? status : undefined;
  }

  /** Restarts the every-Nth sequence (POST /__reset), so the Nth request after a reset fails again. */
  reset(): void {
    this.seen = 0;
  }
}

/**
 * Answers with an injected failure. A 429 gets the normalized Genesys body and a `Retry-After: 1`
 * (docs/genesys.md §5) so clients exercise their real 429 path; other statuses get an ErrorBody.
 */
export function replyWithInjectedFailure(reply: FastifyReply, status: number, correlationId: string): FastifyReply {
  if (status === 429) return reply.code(429).header('retry-after', 1).send(tooManyRequests(1, correlationId));
  return reply.code(status).send(injectedFailure(status, correlationId));
}
