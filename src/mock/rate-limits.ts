/**
 * The Platform API rate limit of the mock (docs/genesys.md §5, §10). Genesys applies several limits
 * to one request and its 429 does not say which one it hit; the mock applies one, chosen by mode:
 * - `per-token`: each access token has its own window (`client.credentials.token.rate.per.minute`,
 *   300/minute on Genesys), so more tokens mean more budget;
 * - `per-client`: every token of one OAuth client shares one window, as some sources say the limit
 *   works; a new token then starts with the counters of the others and more tokens do not help;
 * - `per-org`: every token of the organisation (every client) shares one window;
 * - `per-user`: a token that acts for a user shares one window with every token of that user on the
 *   same client (`org.app.user.rate.per.minute`), so more of that user's tokens do not help, while
 *   client-credentials tokens keep a window each, as in `per-token`.
 *
 * The window is fixed (opens at the first request) or sliding (--window-kind), and its length is a
 * knob, so tests keep Genesys's ratio on a shorter window (50 per 10 s is 300 per minute). A request
 * over the limit is answered with the normalized 429 and `Retry-After`; with --limit-in-429 its body
 * also names the limit (`limit: {key, namespace, value}`, unconfirmed for Genesys). Budget headers
 * go on every answer behind the gate only when --budget-headers asks for them (budget-headers.ts).
 */
import type { FastifyReply } from 'fastify';
import { setBudgetHeaders, type BudgetHeaderKind } from './budget-headers.js';
import { tooManyRequests } from './genesys-errors.js';
import {
  APP_USER_KEY,
  CLIENT_CREDENTIALS_TOKEN_KEY,
  MOCK_CLIENT_KEY,
  MOCK_ORG_KEY,
  perMinute,
  TOKEN_KEY,
  type GenesysLimit,
} from './genesys-limits.js';
import { newRateWindow, type RateWindow, type WindowKind } from './rate-window.js';
import type { AccessToken } from './token-registry.js';

export const RATE_LIMIT_MODES = ['per-token', 'per-client', 'per-org', 'per-user'] as const;
export type RateLimitMode = (typeof RATE_LIMIT_MODES)[number];

export interface RateLimitSettings {
  /** Requests per window (0 = unlimited: no limit and no headers). */
  readonly perTokenLimit: number;
  readonly perTokenWindowMs: number;
  readonly rateLimitMode: RateLimitMode;
  readonly windowKind: WindowKind;
  readonly budgetHeaders: BudgetHeaderKind;
  /** Whether a 429 body names the limit it hit. */
  readonly limitIn429: boolean;
  /** The namespace that named limit gives (--limits-namespace). */
  readonly limitsNamespace: string;
}

/**
 * The 429s the limit answered, by the limit that answered them: in `per-user` mode a
 * client-credentials token is refused by its `per-token` window.
 */
export type RateLimitedCounts = Record<RateLimitMode, number>;

function zeroCounts(): RateLimitedCounts {
  return { 'per-token': 0, 'per-client': 0, 'per-org': 0, 'per-user': 0 };
}

export class ApiRateLimit {
  readonly enabled: boolean;
  /** The windows several tokens share, by scope key (client, organisation, or client and user). */
  private readonly sharedWindows = new Map<string, RateWindow>();
  rateLimited: RateLimitedCounts = zeroCounts();

  constructor(private readonly settings: RateLimitSettings) {
    this.enabled = settings.perTokenLimit > 0;
  }

  /**
   * Counts one API request of `token` at `now`, sets the budget headers asked for on `reply`, and
   * answers the 429 itself when the request is over the limit. Returns true when the request may be
   * served.
   */
  admit(token: AccessToken, reply: FastifyReply, now: number, correlationId: string): boolean {
    const { perTokenLimit: limit, perTokenWindowMs: windowMs } = this.settings;
    const scope = this.scopeOf(token);
    // A token's scope never changes, so the window it counts in is looked up once and kept on it.
    const window = (token.usage ??= this.windowOf(token, scope));
    const count = window.hit(now);
    const resetSeconds = window.secondsUntilReset(now);
    token.apiRequests++;
    setBudgetHeaders(reply, this.settings.budgetHeaders, { limit, count, windowMs, resetSeconds, resetsAtMs: window.resetsAt(now) });
    if (count <= limit) return true;
    token.rateLimited++;
    this.rateLimited[scope]++;
    const body = tooManyRequests(resetSeconds, correlationId);
    reply.code(429).header('retry-after', resetSeconds).send(this.settings.limitIn429 ? { ...body, limit: this.limitHit(token, scope) } : body);
    return false;
  }

  /** POST /__reset zeroes the 429 counts; windows keep running, as the tokens they count stay valid. */
  reset(): void {
    this.rateLimited = zeroCounts();
  }

  /** Which limit counts this token's requests. */
  private scopeOf(token: AccessToken): RateLimitMode {
    const mode = this.settings.rateLimitMode;
    if (mode === 'per-user') return token.userId === undefined ? 'per-token' : 'per-user';
    return mode;
  }

  private windowOf(token: AccessToken, scope: RateLimitMode): RateWindow {
    if (scope === 'per-token') return this.newWindow();
    const key =
      scope === 'per-client' ? `client\u0000${token.clientId}` : scope === 'per-org' ? 'org' : `user\u0000${token.clientId}\u0000${token.userId}`;
    let window = this.sharedWindows.get(key);
    if (window === undefined) {
      window = this.newWindow();
      this.sharedWindows.set(key, window);
    }
    return window;
  }

  private newWindow(): RateWindow {
    return newRateWindow(this.settings.windowKind, this.settings.perTokenWindowMs, this.settings.perTokenLimit);
  }

  /** The `limit` a 429 body names, its value per minute as the key's unit says. */
  private limitHit(token: AccessToken, scope: RateLimitMode): GenesysLimit {
    const key =
      scope === 'per-token'
        ? token.grant === 'client_credentials'
          ? CLIENT_CREDENTIALS_TOKEN_KEY
          : TOKEN_KEY
        : scope === 'per-user'
          ? APP_USER_KEY
          : scope === 'per-client'
            ? MOCK_CLIENT_KEY
            : MOCK_ORG_KEY;
    return { key, namespace: this.settings.limitsNamespace, value: perMinute(this.settings.perTokenLimit, this.settings.perTokenWindowMs) };
  }
}
