/**
 * Budget headers on API answers. Genesys sends none today: its `inin-ratelimit-*` trio was removed
 * from every Platform API response in June 2021 (docs/genesys.md §5), so `none` is the default. The
 * other kinds are there so the sidecar can be rehearsed against upstreams that do announce a budget:
 *
 * - `inin`: Genesys's old `inin-ratelimit-allowed`, `-count` and `-reset` (seconds);
 * - `ietf`: the IETF httpapi draft's `RateLimit-Policy: "default";q=<quota>;w=<window s>` and
 *   `RateLimit: "default";r=<remaining>;t=<seconds until quota returns>` (docs/genesys.md §5);
 * - `x-ratelimit`: GitHub's `x-ratelimit-limit`, `-remaining`, `-used` and `-reset`, the last in
 *   epoch seconds (docs/genesys.md §5).
 */
import type { FastifyReply } from 'fastify';

export const BUDGET_HEADER_KINDS = ['none', 'inin', 'ietf', 'x-ratelimit'] as const;
export type BudgetHeaderKind = (typeof BUDGET_HEADER_KINDS)[number];

/** Where a request stands in the window it was counted in. */
export interface BudgetState {
  /** Requests the window allows. */
  limit: number;
  /** Requests counted in the window, this one included (above `limit` when it was refused). */
  count: number;
  windowMs: number;
  /** Whole seconds until quota comes back, at least 1. */
  resetSeconds: number;
  /** The same moment as epoch milliseconds. */
  resetsAtMs: number;
}

/** The IETF policy name the mock uses for its one policy. */
export const IETF_POLICY = '"default"';

export function setBudgetHeaders(reply: FastifyReply, kind: BudgetHeaderKind, state: BudgetState): void {
  const remaining = Math.max(0, state.limit - state.count);
  switch (kind) {
    case 'none':
      return;
    case 'inin':
      reply
        .header('inin-ratelimit-allowed', state.limit)
        .header('inin-ratelimit-count', state.count)
        .header('inin-ratelimit-reset', state.resetSeconds);
      return;
    case 'ietf':
      reply
        .header('ratelimit-policy', `${IETF_POLICY};q=${state.limit};w=${Math.max(1, Math.ceil(state.windowMs / 1000))}`)
        .header('ratelimit', `${IETF_POLICY};r=${remaining};t=${state.resetSeconds}`);
      return;
    case 'x-ratelimit':
      reply
        .header('x-ratelimit-limit', state.limit)
        .header('x-ratelimit-remaining', remaining)
        .header('x-ratelimit-used', Math.min(state.count, state.limit))
        .header('x-ratelimit-reset', Math.ceil(state.resetsAtMs / 1000));
      return;
  }
}
