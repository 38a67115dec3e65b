import type { Token } from '../token/token.js';

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
   * The upstream's own rate-limit counters for this slot's token, read from a response
   * (`inin-ratelimit-allowed`, `inin-ratelimit-count`, `inin-ratelimit-reset`, docs/genesys.md §5):
   * `allowed` requests per window, `count` used so far fleet-wide, the window ending in
   * `resetSeconds` (undefined when not sent). Called on the request path for every response that
   * carries them: synchronous, no I/O, no allocation.
   */
  observeRateLimit(allowed: number, count: number, resetSeconds: number | undefined): void;
}

/** The proxy's view of one profile's token pool. */
export interface LeasePool {
  readonly profile: string;
  /**
   * The hot path: a lease on a valid token, chosen among the pool's slots. Synchronous, no I/O, no
   * allocation in steady state. undefined when no slot holds a valid token right now.
   */
  lease(): Lease | undefined;
  /** For when `lease()` had nothing: waits for a token. Rejects with a SidecarError. */
  leaseWaiting(): Promise<Lease>;
  /** True while at least one slot holds a valid token. */
  readonly ready: boolean;
}
