import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { ClientStatusTally, SlotGaugeCells, StatusTally, TalliedHistogram } from './tally.js';

/** Default Node.js metrics that are gauges named like counters: dropped (see createMetrics). */
export const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/**
 * Every sidecar metric (the README's metrics table), created against the registry passed in (never
 * the global one, so tests and several servers in one process do not collide). Labels are bounded:
 * results, reasons, status codes, profile names (from configuration) and pool slots; never a path or
 * a token. Token, lock and rate-limit metrics carry `profile` so several credential profiles can be
 * told apart; sum it away for a view across profiles.
 */
export function createMetrics(registry: Registry, opts: { defaultMetrics?: boolean } = {}) {
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client exports these three gauges with a `_total` suffix, which `promtool check metrics`
    // rejects ("non-counter metrics should not have _total suffix"). Their per-type breakdowns
    // (nodejs_active_handles{type}, nodejs_active_requests{type}, nodejs_active_resources{type}) stay:
    // sum them for the totals.
    for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  // Written on every proxied response, read into prom-client at scrape time (see tally.ts).
  const upstreamStatuses = new StatusTally();
  const rateLimitCells = new SlotGaugeCells();
  const clientStatuses = new ClientStatusTally();
  /** The largest pool size of each profile since start, behind `pool_size_peak`. */
  const poolPeaks = new Map<string, number>();
  const metrics = {
    registry,
    /** Upstream answers by status code; the request path counts here, not on `upstreamResponses`. */
    upstreamStatuses,
    /** Each pool slot's `rate_limit_remaining` series, written as a plain field by the slot. */
    rateLimitCells,
    /** What clients were answered and by whom; the proxy app counts here on every response. */
    clientStatuses,
    tokenRequests: new Counter({
      name: 'token_sidecar_token_requests_total',
      help: 'Calls to the token endpoint made by this instance, by result: success, rejected, rate_limited, server_error, network, timeout or malformed.',
      labelNames: ['profile', 'result'] as const,
      registers,
    }),
    tokenRequestDuration: new Histogram({
      name: 'token_sidecar_token_request_duration_seconds',
      help: 'Latency of token endpoint calls made by this instance.',
      labelNames: ['profile'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    tokenExpiry: new Gauge({
      name: 'token_sidecar_token_expiry_timestamp_seconds',
      help: 'Unix time at which the current token of each pool slot expires.',
      labelNames: ['profile', 'slot'] as const,
      // WORKERS > 1: the primary merges workers' registries; they share tokens, so the latest expiry wins.
      aggregator: 'max',
      registers,
    }),
    lockWait: new Histogram({
      name: 'token_sidecar_lock_wait_seconds',
      help: 'Time spent acquiring the refresh lock or waiting for the holder to publish a token.',
      labelNames: ['profile'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    lockAcquisitions: new Counter({
      name: 'token_sidecar_lock_acquisitions_total',
      help: 'Refresh lock attempts: acquired, contended (another instance holds it: once per wait, however often the waiter looks again) or failed (lock service unreachable).',
      labelNames: ['profile', 'result'] as const,
      registers,
    }),
    invalidations: new Counter({
      name: 'token_sidecar_token_invalidations_total',
      help: 'Tokens dropped before their scheduled refresh, by reason: upstream_401, manual or expired.',
      labelNames: ['profile', 'reason'] as const,
      registers,
    }),
    replays: new Counter({
      name: 'token_sidecar_replays_total',
      help: 'Requests that met an upstream 401, by how the replay ended: success (non-401 answer), unauthorized (second 401), not_replayable (body streamed) or no_token.',
      labelNames: ['result'] as const,
      registers,
    }),
    upstreamResponses: new Counter({
      name: 'token_sidecar_upstream_responses_total',
      help: 'Upstream responses by HTTP status code (error = no response).',
      labelNames: ['code'] as const,
      registers,
      collect() {
        upstreamStatuses.flushInto(this);
      },
    }),
    clientResponses: new Counter({
      name: 'token_sidecar_client_responses_total',
      help: 'Answers the proxy gave its clients, by HTTP status code and origin: upstream (the upstream\'s answer, relayed) or sidecar (the sidecar answered itself: its own errors and refusals, an unreachable upstream).',
      labelNames: ['code', 'origin'] as const,
      registers,
      collect() {
        clientStatuses.flushInto(this);
      },
    }),
    /** Observed on every proxied response: a plain tally rather than prom-client's Histogram (see tally.ts). */
    upstreamDuration: new TalliedHistogram({
      name: 'token_sidecar_upstream_request_duration_seconds',
      help: 'Time from dispatching a request upstream to its response headers, as seen by the proxy.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    /**
     * The `sidecar` part of Server-Timing (proxy/server-timing.ts), per proxied answer: the sidecar's
     * own time, without token and budget waits and the upstream's. Fine buckets below a millisecond,
     * where a healthy sidecar is. Observed whatever SERVER_TIMING says.
     */
    addedLatency: new TalliedHistogram({
      name: 'token_sidecar_added_latency_seconds',
      help: 'Time each proxied request spent in the sidecar itself, up to the answer\'s headers: not waiting for a token, for rate budget or for the upstream.',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    }),
    refusals: new Counter({
      name: 'token_sidecar_refusals_total',
      help: 'Requests the sidecar refused by a brake without calling the upstream, by reason: request_cap (MAX_REQUESTS), halted (POST /admin/halt) or outside_test_window (TEST_WINDOW).',
      labelNames: ['reason'] as const,
      registers,
    }),
    rateLimitRemaining: new Gauge({
      name: 'token_sidecar_rate_limit_remaining',
      help: 'Requests left in the current Genesys rate-limit window of each slot token (inin-ratelimit-allowed minus inin-ratelimit-count).',
      labelNames: ['profile', 'slot'] as const,
      // Workers read the same token's count: the smallest remaining is the most recent.
      aggregator: 'min',
      registers,
      collect() {
        rateLimitCells.flushInto(this);
      },
    }),
    redisUp: new Gauge({
      name: 'token_sidecar_redis_up',
      help: '1 when the shared token store answers (always 1 on the in-memory store).',
      // 1 only when every worker reaches the store.
      aggregator: 'min',
      registers,
    }),
    // Token pool and rate limits (TOKEN_POOL_SIZE, TOKEN_POOL_MAX, RATE_LIMIT_POLICY).
    poolSize: new Gauge({
      name: 'token_sidecar_pool_size',
      help: 'Token pool slots in rotation for each profile (fleet-wide with TOKEN_POOL_SIZE=auto).',
      labelNames: ['profile'] as const,
      // Workers follow the same fleet-wide size; the largest is the most recent growth.
      aggregator: 'max',
      registers,
    }),
    poolSizePeak: new Gauge({
      name: 'token_sidecar_pool_size_peak',
      help: 'The largest number of token pool slots in rotation for each profile since this instance started.',
      labelNames: ['profile'] as const,
      aggregator: 'max',
      registers,
    }),
    /** Sets `pool_size` and raises `pool_size_peak` when the size is a new high. */
    setPoolSize(profile: string, size: number): void {
      metrics.poolSize.set({ profile }, size);
      if (size > (poolPeaks.get(profile) ?? -1)) {
        poolPeaks.set(profile, size);
        metrics.poolSizePeak.set({ profile }, size);
      }
    },
    poolMax: new Gauge({
      name: 'token_sidecar_pool_max',
      help: 'TOKEN_POOL_MAX of each profile whose pool sizes itself (TOKEN_POOL_SIZE=auto); absent for a fixed pool.',
      labelNames: ['profile'] as const,
      aggregator: 'max',
      registers,
    }),
    rateLimited: new Counter({
      name: 'token_sidecar_rate_limited_total',
      help: 'Requests that met an exhausted rate budget, by what happened: replayed (on another slot after a 429 of the token\'s own budget), passed, waited or rejected (RATE_LIMIT_POLICY).',
      labelNames: ['profile', 'action'] as const,
      registers,
    }),
    /**
     * Exposes every known label combination of `profiles` at 0 before anything happens, so dashboards
     * and `rate()` see a series from the first scrape rather than from the first event. Expiry and
     * rate-limit gauges are left out: 0 would be a wrong value, not a missing one. The pool size
     * starts at the profile's fixed or starting size; the cap exists only for an auto pool.
     */
    initProfiles(
      profiles: ReadonlyArray<{ readonly name: string; readonly poolSize?: number; readonly poolAuto?: boolean; readonly poolMax?: number }>,
    ): void {
      for (const { name: profile, poolSize, poolAuto, poolMax } of profiles) {
        if (poolSize !== undefined) metrics.setPoolSize(profile, poolSize);
        if (poolAuto === true && poolMax !== undefined) metrics.poolMax.set({ profile }, poolMax);
        for (const action of RATE_LIMITED_ACTIONS) metrics.rateLimited.inc({ profile, action }, 0);
        metrics.tokenRequests.inc({ profile, result: 'success' }, 0);
        for (const result of LOCK_RESULTS) metrics.lockAcquisitions.inc({ profile, result }, 0);
        for (const reason of INVALIDATION_REASONS) metrics.invalidations.inc({ profile, reason }, 0);
        metrics.tokenRequestDuration.zero({ profile });
        metrics.lockWait.zero({ profile });
      }
    },
  };
  for (const result of REPLAY_RESULTS) metrics.replays.inc({ result }, 0);
  for (const reason of REFUSAL_REASONS) metrics.refusals.inc({ reason }, 0);
  return metrics;
}

const LOCK_RESULTS = ['acquired', 'contended', 'failed'] as const;
const INVALIDATION_REASONS = ['upstream_401', 'manual', 'expired'] as const;
const REPLAY_RESULTS = ['success', 'unauthorized', 'not_replayable', 'no_token'] as const;
/** Why a brake refused a request: the `reason` of token_sidecar_refusals_total. */
export const REFUSAL_REASONS = ['request_cap', 'halted', 'outside_test_window'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
/** What a request that met an exhausted budget went on to: the `action` of token_sidecar_rate_limited_total. */
export const RATE_LIMITED_ACTIONS = ['replayed', 'passed', 'waited', 'rejected'] as const;
export type RateLimitedAction = (typeof RATE_LIMITED_ACTIONS)[number];

export type Metrics = ReturnType<typeof createMetrics>;
