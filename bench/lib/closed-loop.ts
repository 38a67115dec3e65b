import autocannon from 'autocannon';

/**
 * Closed-loop load with autocannon: `connections` keep-alive connections, each sending its next
 * request when the previous answer arrives, for `durationSeconds`. The throughput ceiling of a target
 * is what this reaches. Latencies are autocannon's, in whole milliseconds.
 */
export interface ClosedLoopOptions {
  /** One URL, or several to spread the connections over (several sidecar instances). */
  readonly url: string | string[];
  readonly connections: number;
  readonly durationSeconds: number;
  readonly headers?: Record<string, string>;
}

export interface ClosedLoopResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly non2xx: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export async function closedLoop(opts: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationSeconds,
    headers: opts.headers,
  });
  const requests = result['2xx'] + result.non2xx;
  return {
    requests,
    requestsPerSecond: Math.round(requests / result.duration),
    non2xx: result.non2xx,
    errors: result.errors,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
  };
}
