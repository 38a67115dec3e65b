import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import type { Token } from '../token/token.js';

export type InvalidationReason = 'expired' | 'upstream_401' | 'manual';

/**
 * What the refresh-ahead cache of one slot logs and counts, in one place: the lines and series
 * operators read (`token refresh …`, `token invalidated: …`, token_sidecar_token_expiry_timestamp_seconds,
 * token_sidecar_token_invalidations_total). Never a token: generations and instance ids only.
 */
export class CacheReport {
  private readonly identity: { profile: string; slot: number };
  private readonly slotLabels: { profile: string; slot: string };

  constructor(
    readonly profile: string,
    slot: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.identity = { profile, slot };
    this.slotLabels = { profile, slot: String(slot) };
  }

  refreshStarted(reason: string, after: number): void {
    this.log.info({ ...this.identity, reason, after }, 'token refresh started');
  }

  refreshSucceeded(reason: string, token: Token, durationMs: number): void {
    this.log.info({ ...this.identity, reason, generation: token.generation, fetchedBy: token.fetchedBy, local: token.local === true, durationMs }, 'token refresh succeeded');
  }

  refreshFailed(fields: { reason: string; after: number; failures: number; retryInMs: number; durationMs: number; error: string | null }): void {
    this.log.error({ ...this.identity, ...fields }, 'token refresh failed');
  }

  holding(token: Token): void {
    this.metrics.tokenExpiry.set(this.slotLabels, token.expiresAt / 1000);
  }

  adopted(token: Token): void {
    this.log.debug({ ...this.identity, generation: token.generation }, 'adopted token published by the store');
  }

  invalidated(reason: InvalidationReason, generation: number | null): void {
    this.metrics.invalidations.inc({ profile: this.profile, reason });
    this.log.info({ ...this.identity, generation, reason }, INVALIDATED[reason]);
  }

  invalidatedElsewhere(generation: number): void {
    this.log.info({ ...this.identity, generation, reason: 'invalidated_elsewhere' }, 'token invalidated: rejected at another instance');
  }
}

const INVALIDATED: Record<InvalidationReason, string> = {
  expired: 'token invalidated: past its safety margin with no successor',
  upstream_401: 'token invalidated: rejected by the upstream',
  manual: 'token invalidated: forced refresh',
};
