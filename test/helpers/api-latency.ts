/**
 * How long the upstream takes to answer an API request in the end-to-end loads (the mock's
 * `--api-latency`, or `apiLatencyMs` in process): as long as a remote API takes, not the
 * microseconds of a loopback mock. It matters twice:
 * - every request holds its token upstream for that long, so each rotation under revoke-on-issue
 *   finds the clients' requests in flight with the token it revokes: the 401s the replay exists for
 *   happen at every rotation, not only when the machine happens to queue requests;
 * - a closed loop's rate is clients ÷ latency (200 clients: at most 1,000 requests/s), not whatever
 *   two shared cores can spin. At 0 ms each 200-client file took every cycle the machine had
 *   (6,300 requests/s for 4 sidecars), starving the files beside it and the token rotations they wait
 *   on. How fast the sidecar goes is the benchmark's to show, not the tests'.
 */
export const API_LATENCY_MS = 200;

/** The mock CLI's flag for it. */
export const API_LATENCY_ARGS = ['--api-latency', String(API_LATENCY_MS)] as const;
