/**
 * Whether an upstream 429 is the sent token's own rate budget (another slot, or a new one, can
 * relieve it: mark the slot exhausted, replay a replayable request once elsewhere) or another limit
 * that more tokens cannot fix (the 429 reaches the client unchanged). Genesys answers every 429 with
 * the same normalized body (docs/genesys.md §5), so the counters decide.
 */
import type { SlotBudget } from './budget.js';

/** Whom a 429 concerns: the sent token's own budget, or something else that more tokens cannot fix. */
export type RateLimitCause = 'token_budget' | 'other';

/** docs/genesys.md §5: the limit keys that count requests per token. */
const TOKEN_LIMIT_KEYS: ReadonlySet<string> = new Set(['client.credentials.token.rate.per.minute', 'token.rate.per.minute']);

/**
 * Classifies an upstream 429. `allowed` and `count` are the response's `inin-ratelimit-*` counters
 * (NaN when absent); `limitKey` is the `limit.key` of the Genesys error body when it names one
 * (docs/genesys.md §5, §6: whether 429s fill it is unconfirmed, so it decides only when present).
 * - a per-token limit key, or counters at or over the limit: the token's own budget, which another
 *   slot (or a new one) can relieve;
 * - another key (per user, per OAuth client and user, per resource, org), or counters with budget
 *   left: a different limit tripped; the 429 reaches the client unchanged;
 * - neither key nor counters: the token's own budget only if the local count (RATE_LIMIT_PER_TOKEN)
 *   of `budget` says it is spent at `now`, otherwise another limit.
 */
export function classify429(
  allowed: number,
  count: number,
  limitKey?: string,
  budget?: SlotBudget,
  now = 0,
): RateLimitCause {
  if (limitKey !== undefined) return TOKEN_LIMIT_KEYS.has(limitKey) ? 'token_budget' : 'other';
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
