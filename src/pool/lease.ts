import type { Token } from '../token/token.js';
import type { NamedLimit } from './budget-429.js';

/**
 * The seam between the token lifecycle and the proxy: what the proxy may ask of one profile's
 * tokens, and nothing more. The proxy imports only these types from lifecycle/.
 */

/**
 * One token as the proxy uses it: the token, the upstream header it goes in, and the slot it came
 * from (so a 401 goes back to the lifecycle that issued it). Built once per token and shared by every
 * request while that token lasts: the request path allocates nothing for it.
 */
export interface Lease {
  readonly token: Token;
  /** Lower-case name of the header the token is sent in upstream (default `authorization`). */
  readonly header: string;
  /** That header's value: the configured prefix and the access token (default `Bearer <token>`). Secret. */
  readonly value: string;
  readonly slot: LeaseSlot;
}

/** The lifecycle of one pool slot, as the proxy reports back to it. */
export interface LeaseSlot {
  readonly profile: string;
  /** The slot's index in its profile's pool (the `slot` metric label). */
  readonly index: number;
  /**
   * The upstream answered 401 to a request sent with `sent`. The lifecycle invalidates `sent` only if
   * it is still the current token (compare-and-set, fleet-wide) and resolves with a lease on a newer
   * token: one refresh across the fleet however many requests report the same token. Rejects with a
   * SidecarError (`tokenUnavailable`) when no newer token can be had.
   */
  onUnauthorized(sent: Token): Promise<Lease>;
  /**
   * The upstream's own budget counters for this slot's token, where it sends them
   * (./budget-headers.ts: IETF RateLimit, x-ratelimit-*, or Genesys's pre-2021 inin-ratelimit-*):
   * `allowed` requests per window, `count` used so far fleet-wide, the window ending in
   * `resetSeconds` (undefined when not sent). Called on the request path for every response that
   * carries them: synchronous, no I/O, no allocation.
   */
  observeRateLimit(allowed: number, count: number, resetSeconds: number | undefined, ticket?: number): void;
  /**
   * A request is being sent with this slot's token: counts it against the slot's budget and returns
   * its ticket, to hand back to observeRateLimit with the counters of its answer (so an answer is
   * known to cover the requests sent before it). Synchronous, no allocation.
   */
  noteSent(): number;
  /**
   * Every final answer to a request sent with this slot's token: how many a fresh token has had (its
   * slow start, and whether it was refused at once). Synchronous, no allocation.
   */
  noteAnswer(statusCode: number): void;
  /**
   * The upstream answered 429 to this slot's token; `allowed`/`count` are its budget counters (NaN
   * when it sent none), `named` the limit its body names, if it names one (./budget-429.ts). Returns
   * whether it was this token's own budget, which another slot can relieve: the slot is then spent
   * until `retryAfterSeconds` (or its window's end), and the lifecycle may learn a limit from it.
   * false: another limit, which more tokens cannot fix (e.g. a fresh token refused at once, or a
   * limit per client named in the body: the limit is not per token); the 429 reaches the client.
   */
  rateLimited(allowed: number, count: number, retryAfterSeconds: number | undefined, named?: NamedLimit): boolean;
}

/** A lease whose request is already counted against its slot's budget (LeaseSlot.noteSent). */
export interface SentLease {
  readonly lease: Lease;
  readonly ticket: number;
}

/** The proxy's view of one profile's token pool. */
export interface LeasePool {
  readonly profile: string;
  /**
   * The hot path: a lease on a valid token, chosen among the pool's slots. Synchronous, no I/O, no
   * allocation in steady state. undefined when no slot holds a valid token right now.
   */
  lease(): Lease | undefined;
  /**
   * The same choice as `lease()` for a request that `lease()` already counted (its body was read
   * meanwhile): the pool's sizer counts each request once.
   */
  leaseAgain(): Lease | undefined;
  /** For when `lease()` had nothing: waits for a token. Rejects with a SidecarError. */
  leaseWaiting(): Promise<Lease>;
  /** True while at least one slot holds a valid token. */
  readonly ready: boolean;
  /**
   * Set by each `lease()`: true when the slot it chose has no budget left, which means every slot in
   * rotation is out of budget. The request then goes through `leaseOverBudget` instead.
   */
  readonly outOfBudget: boolean;
  /**
   * For a request that met a pool out of budget: holds it while the pool grows, then applies
   * RATE_LIMIT_POLICY (pass: the lease to send with; wait: the lease once a slot has budget, or after
   * RATE_LIMIT_MAX_WAIT_MS anyway; reject: rejects with SidecarError `rateLimited`). The request is
   * already counted (noteSent) when it resolves.
   */
  leaseOverBudget(): Promise<SentLease>;
  /**
   * For a 429 of the token `sent` on `from`'s own budget: a lease on another slot that has budget
   * now, or undefined: then, while `canWaitForBudget`, the replay waits through `leaseOverBudget`,
   * else the 429 reaches the client. Counts the replay.
   */
  leaseForReplay(from: LeaseSlot): Lease | undefined;
  /**
   * Whether a replay that meets no budget is held while the pool grows (an auto pool below its cap,
   * growth not stopped). Otherwise its 429 reaches the client: under RATE_LIMIT_POLICY=wait a request
   * waits once, before it is sent, not again after.
   */
  readonly canWaitForBudget: boolean;
}
