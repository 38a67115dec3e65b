import type { SidecarError } from '../errors.js';

/**
 * What the proxy asks before a request may reach the upstream: the run's brakes (MAX_REQUESTS,
 * POST /admin/halt, TEST_WINDOW), built in brakes/ and handed in by the composition root, so the
 * proxy knows them only by this.
 */
export interface RequestGate {
  /**
   * Before a request's first attempt: null to go on, the SidecarError to answer with, or (rarely,
   * while the next block of the request cap is on its way) a promise of one of those. Synchronous,
   * no allocation, when the request may go.
   */
  admit(): SidecarError | null | Promise<SidecarError | null>;
  /** Before a replay (a second request to the upstream): whether it may be sent now. Synchronous. */
  mayReplay(): boolean;
}
