import type { LeaseSlot } from '../lifecycle/lease.js';
import type { Metrics } from '../metrics/metrics.js';

const ALLOWED = 'inin-ratelimit-allowed';
const COUNT = 'inin-ratelimit-count';
/** Header scans are sampled: the gauge needs no more than a few updates a second. */
const SCAN_EVERY_MS = 250;

/**
 * Feeds token_sidecar_rate_limit_remaining from Genesys's `inin-ratelimit-allowed` and
 * `inin-ratelimit-count` response headers (docs/genesys.md §5), per slot. Always reads a 429's headers;
 * other responses at most every SCAN_EVERY_MS, so the request path stays cheap.
 */
export class RateLimitObserver {
  private lastScan = 0;

  constructor(private readonly metrics: Metrics) {}

  observe(statusCode: number, rawHeaders: Buffer[], slot: LeaseSlot): void {
    const now = Date.now();
    if (statusCode !== 429 && now - this.lastScan < SCAN_EVERY_MS) return;
    this.lastScan = now;
    let allowed: number | undefined;
    let count: number | undefined;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (name.length !== ALLOWED.length && name.length !== COUNT.length) continue;
      const lower = name.toString('latin1').toLowerCase();
      if (lower === ALLOWED) allowed = Number(rawHeaders[i + 1]!.toString('latin1'));
      else if (lower === COUNT) count = Number(rawHeaders[i + 1]!.toString('latin1'));
    }
    if (allowed !== undefined && count !== undefined && Number.isFinite(allowed - count)) {
      const { profile, index } = slot;
      this.metrics.rateLimitRemaining.set({ profile, slot: String(index) }, Math.max(0, allowed - count));
    } else if (statusCode === 429) {
      const { profile, index } = slot;
      this.metrics.rateLimitRemaining.set({ profile, slot: String(index) }, 0);
    }
  }
}
