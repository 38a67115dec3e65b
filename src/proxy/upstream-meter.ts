import type { Metrics } from '../metrics/metrics.js';
import type { ResponseMeter } from './replay-handler.js';

/**
 * The proxy's per-request figures into the contract's metrics: status codes into a plain tally
 * (handed to token_sidecar_upstream_responses_total at scrape time), latency into the histogram
 * (prom-client has no supported way to hand it bucket counts), replays into their counter (rare), the sidecar's own time into its tallied histogram.
 */
export function upstreamMeter(metrics: Metrics, options: { serverTiming: boolean }): ResponseMeter {
  const { upstreamStatuses, upstreamDuration, replays, addedLatency } = metrics;
  return {
    serverTiming: options.serverTiming,
    response(statusCode, seconds) {
      upstreamStatuses.count(statusCode);
      upstreamDuration.observe(seconds);
    },
    error() {
      upstreamStatuses.error();
    },
    replay(result) {
      replays.inc({ result });
    },
    added(seconds) {
      addedLatency.observe(seconds);
    },
  };
}
