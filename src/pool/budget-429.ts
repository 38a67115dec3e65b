/**
 * Whether an upstream 429 is the sent token's own rate budget (another slot, or a new one, can
 * relieve it: mark the slot exhausted, replay a replayable request once elsewhere) or another limit
 * that more tokens cannot fix (the 429 reaches the client unchanged). Genesys answers every 429 with
 * the same normalized body (docs/genesys.md §5), so the counters decide, unless the body names the
 * limit that refused it (`limit.key`, or a key in `message`; unconfirmed for Genesys, §5): then the
 * name decides.
 */
import type { SlotBudget } from './budget.js';

/** Whom a 429 concerns: the sent token's own budget, or something else that more tokens cannot fix. */
export type RateLimitCause = 'token_budget' | 'other';

/**
 * What a limit key counts (docs/genesys.md §5, keys as the Limits API names them):
 * - `token`: every token its own budget (`client.credentials.token.rate.per.minute`,
 *   `token.rate.per.minute`; any key with a `token` word);
 * - `shared`: every request of an OAuth client, a user or the organisation, whatever the token
 *   (`org.app.user.rate.per.minute`, `org.user.rate.per.minute`; any key with an `org`, `client` or
 *   `user` word): more tokens cannot help;
 * - `other`: anything else, such as one resource's own limit (a route's): more tokens cannot help
 *   that route, but may still help the rest of the load, so such a 429 only reaches the client.
 */
export type LimitScope = 'token' | 'shared' | 'other';

/** A limit a 429 body names: its key and, when the body gives it, its value (in the key's unit). */
export interface NamedLimit {
  readonly key: string;
  readonly value: number | undefined;
}

const TOKEN_WORD = /(^|\.)token(\.|$)/;
const SHARED_WORD = /(^|\.)(org|client|user)(\.|$)/;
/** A rate limit key as Genesys spells them (`<words>.rate.per.<unit>`), found in a 429's message. */
const KEY_IN_MESSAGE = /[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\.rate\.per\.[a-z]+/;
/** A key whose value counts requests per minute: what a TokenLimit takes. */
const PER_MINUTE = /\.per\.minute$/;

export function limitScope(key: string): LimitScope {
  if (TOKEN_WORD.test(key)) return 'token';
  return SHARED_WORD.test(key) ? 'shared' : 'other';
}

/** The named limit's value as requests per minute, where its key says that is its unit. */
export function perMinuteOf(named: NamedLimit): number | undefined {
  return named.value !== undefined && PER_MINUTE.test(named.key) ? named.value : undefined;
}

/**
 * Classifies an upstream 429 whose body names no limit (one that does is decided by the name alone:
 * limitScope, in PoolSlot.rateLimited). `allowed` and `count` are the response's budget counters
 * (NaN when absent).
 * - counters at or over the limit: the token's own budget, which another slot (or a new one) can
 *   relieve;
 * - counters with budget left: a different limit tripped (per user, per OAuth client and user, per
 *   resource, org); the 429 reaches the client unchanged;
 * - no counters: the token's own budget only if the local count (RATE_LIMIT_PER_TOKEN) of `budget`
 *   says it is spent at `now`, otherwise another limit.
 */
export function classify429(allowed: number, count: number, budget?: SlotBudget, now = 0): RateLimitCause {
  if (allowed > 0 && count >= 0) return count >= allowed ? 'token_budget' : 'other';
  if (budget !== undefined && !budget.fromUpstream && budget.limit > 0 && budget.remaining(now, true) === 0) return 'token_budget';
  return 'other';
}

/** The `limit.key` of a Genesys error body (docs/genesys.md §6 `ErrorBody.limit`), if it carries one. */
export function limitKeyOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const limit = (body as { limit?: unknown }).limit;
  if (typeof limit !== 'object' || limit === null) return undefined;
  const key = (limit as { key?: unknown }).key;
  return typeof key === 'string' && key !== '' ? key : undefined;
}

/**
 * The limit a Genesys error body names: its `limit` object (`key`, and `value` when a positive
 * number), else the first rate limit key its `message` spells out (no value then); undefined when
 * it names none.
 */
export function namedLimitOf(body: unknown): NamedLimit | undefined {
  const key = limitKeyOf(body);
  if (key !== undefined) {
    const value = ((body as { limit: { value?: unknown } }).limit).value;
    return { key, value: typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined };
  }
  const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
  if (typeof message !== 'string') return undefined;
  const found = KEY_IN_MESSAGE.exec(message);
  return found === null ? undefined : { key: found[0], value: undefined };
}

/** namedLimitOf a 429 body's bytes: undefined for a body that is not JSON (or is compressed). */
export function namedLimitInBody(chunks: readonly Buffer[], size: number): NamedLimit | undefined {
  if (size === 0) return undefined;
  try {
    return namedLimitOf(JSON.parse((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks as Buffer[], size)).toString('utf8')));
  } catch {
    return undefined;
  }
}
