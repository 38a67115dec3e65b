/**
 * The Platform API rate limit of the mock, in one of two modes (docs/genesys.md §5, §10):
 * - `per-token`: each access token has its own window (`client.credentials.token.rate.per.minute`,
 *   300/minute on Genesys), so more tokens mean more budget;
 * - `per-client`: every token of one OAuth client shares one window, as some sources say the limit
 *   works; a new token then starts with the counters of the others and more tokens do not help.
 *
 * Either way every API answer behind the gate carries Genesys's `inin-ratelimit-allowed`,
 * `inin-ratelimit-count` and `inin-ratelimit-reset` (seconds) of the window it was counted in, and a
 * request over the limit is answered with the normalized 429 and `Retry-After`. The window length
 * is a knob, so tests keep Genesys's ratio on a shorter window (50 per 10 s is 300 per minute).
 */
import type { FastifyReply } from 'fastify';
import { tooManyRequests } from './genesys-errors.js';
import { FixedWindowCounter } from './rate-window.js';
import type { AccessToken } from './token-registry.js';

export type RateLimitMode = 'per-token' | 'per-client';

export interface RateLimitSettings {
  /** Requests per window (0 = unlimited: no limit and no headers). */
  readonly perTokenLimit: number;
  readonly perTokenWindowMs: number;
  readonly rateLimitMode: RateLimitMode;
}

/** The 429s the limit answered, by the mode that was in force. */
export interface RateLimitedCounts {
  'per-token': number;
  'per-client': number;
}

export class ApiRateLimit {
  readonly enabled: boolean;
  /** One window per client id, used in per-client mode. */
  private readonly clientWindows = new Map<string, FixedWindowCounter>();
  rateLimited: RateLimitedCounts = { 'per-token': 0, 'per-client': 0 };

  constructor(private readonly settings: RateLimitSettings) {
    this.enabled = settings.perTokenLimit > 0;
  }

  /**
   * Counts one API request of `token` at `now`, sets the three headers on `reply`, and answers the
   * 429 itself when the request is over the limit. Returns true when the request may be served.
   * A request over the limit still counts, as a real limiter's counter does, so the count a client
   * sees keeps rising while it keeps knocking.
   */
  admit(token: AccessToken, reply: FastifyReply, now: number, correlationId: string): boolean {
    const { perTokenLimit: limit, perTokenWindowMs: windowMs, rateLimitMode: mode } = this.settings;
    const window = mode === 'per-token' ? (token.usage ??= new FixedWindowCounter(windowMs)) : this.clientWindow(token.clientId);
    const count = window.hit(now);
    const resetSeconds = window.secondsUntilReset(now);
    token.apiRequests++;
    reply
      .header('inin-ratelimit-allowed', limit)
      .header('inin-ratelimit-count', count)
      .header('inin-ratelimit-reset', resetSeconds);
    if (count <= limit) return true;
    token.rateLimited++;
    this.rateLimited[mode]++;
    reply.code(429).header('retry-after', resetSeconds).send(tooManyRequests(resetSeconds, correlationId));
    return false;
  }

  /** POST /__reset zeroes the 429 counts; windows keep running, as the tokens they count stay valid. */
  reset(): void {
    this.rateLimited = { 'per-token': 0, 'per-client': 0 };
  }

  private clientWindow(clientId: string): FixedWindowCounter {
    let window = this.clientWindows.get(clientId);
    if (window === undefined) {
      window = new FixedWindowCounter(this.settings.perTokenWindowMs);
      this.clientWindows.set(clientId, window);
    }
    return window;
  }
}
