import type { Metrics } from '../metrics/metrics.js';
import type { ResponseMeter } from './replay-handler.js';

/**
 * The proxy's per-request figures into the contract's metrics: status codes into a plain tally
 * (handed to token_sidecar_upstream_responses_total at scrape time), latency into the histogram
 * (prom-client has no supported way to hand it bucket counts), replays into their counter (rare).
 */
export function upstreamMeter(metrics: Metrics): ResponseMeter {
  const { upstreamStatuses, upstreamDuration, replays } = metrics;
  return {
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
  };
}
