import { Agent, request, type Dispatcher } from 'undici';

/**
 * A closed-loop load generator on undici (the HTTP client Node itself ships): N concurrent clients,
 * each with its own keep-alive connection, each sending its next request as soon as the previous one
 * is answered (or, with `intervalMs`, no sooner than that after the previous one started), until the
 * duration is over. Used by the demo and the end-to-end tests. What a client sends is up to `step`,
 * so a client can also manage its own token (the demo's naive side).
 */
export interface LoadOptions {
  readonly clients: number;
  readonly durationMs: number;
  /** One request of client `index`; resolves with the HTTP status (the body is consumed by step). */
  readonly step: (index: number, dispatcher: Dispatcher) => Promise<number>;
  /** Called about every second with the figures so far (progress display). */
  readonly onProgress?: (soFar: LoadResult) => void;
  /** Ends the run early (Ctrl-C in the demo): clients finish the request in flight and stop. */
  readonly signal?: AbortSignal;
  /**
   * Paces each client like a JMeter thread with a constant timer: a client starts a request at most
   * once per `intervalMs`, and the clients' first requests are spread evenly over the first interval
   * so the offered load is steady (clients × 1000 / intervalMs requests/s) rather than in bursts.
   * A slow answer delays only its own client's next request. Unset: no pause at all.
   */
  readonly intervalMs?: number;
  /** Time for the schedule, the pauses and the latencies (default: performance.now() and real timers). */
  readonly clock?: LoadClock;
}

/** The time a run goes by; a test's fake clock fits it. */
export interface LoadClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The default clock: monotonic milliseconds, so a wall-clock step cannot stretch or cut a run. */
const monotonicClock: LoadClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface LoadResult {
  requests: number;
  /** Requests by status; 0 = no response (connection error). */
  byStatus: Record<string, number>;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  durationMs: number;
  requestsPerSecond: number;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const dispatcher = new Agent({ connections: opts.clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const clock = opts.clock ?? monotonicClock;
  const latencies: number[] = [];
  const byStatus = new Map<number, number>();
  const started = clock.now();
  const deadline = started + opts.durationMs;

  const summarize = (): LoadResult => summarizeRun(latencies, byStatus, clock.now() - started);
  const progress = opts.onProgress ? setInterval(() => opts.onProgress!(summarize()), 1000) : undefined;

  const interval = opts.intervalMs ?? 0;
  const pauses = new Pauses(clock, opts.signal);
  async function client(index: number): Promise<void> {
    let nextStart = started + (interval * index) / opts.clients;
    while (!opts.signal?.aborted) {
      if (interval > 0) {
        // Decided by the schedule, not by the clock after the pause: a timer may fire a little early.
        if (nextStart >= deadline) break;
        await pauses.until(nextStart);
      }
      if (clock.now() >= deadline || opts.signal?.aborted) break;
      nextStart = Math.max(nextStart, clock.now()) + interval;
      const t0 = clock.now();
      let status = 0;
      try {
        status = await opts.step(index, dispatcher);
      } catch {
        status = 0;
      }
      latencies.push(clock.now() - t0);
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      if (status === 0) await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 10));
    }
  }

  try {
    await Promise.all(Array.from({ length: opts.clients }, (_, i) => client(i)));
  } finally {
    if (progress) clearInterval(progress);
    pauses.close();
    await dispatcher.close();
  }
  return summarize();
}

function summarizeRun(latencies: number[], byStatus: Map<number, number>, durationMs: number): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
  let non2xx = 0;
  const statuses: Record<string, number> = {};
  for (const [status, count] of byStatus) {
    statuses[String(status)] = count;
    if (status < 200 || status >= 300) non2xx += count;
  }
  return {
    requests: latencies.length,
    byStatus: statuses,
    non2xx,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1]! : 0),
    durationMs: Math.round(durationMs),
    requestsPerSecond: Math.round((latencies.length / durationMs) * 1000),
  };
}

/**
 * The clients' pauses, all ended at once when the signal aborts. One abort listener for every client
 * (not one per pause): hundreds of clients pausing at once would pass the signal's listener limit.
 */
class Pauses {
  private readonly sleeping = new Set<() => void>();
  private readonly wakeAll = () => {
    for (const wake of [...this.sleeping]) wake();
  };

  constructor(
    private readonly clock: LoadClock,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.wakeAll, { once: true });
  }

  /** Resolves once the clock reaches `at`, or at once when the signal has aborted. */
  until(at: number): Promise<void> {
    const delay = at - this.clock.now();
    if (delay <= 0 || this.signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.clock.clearTimeout(timer);
        this.sleeping.delete(wake);
        resolve();
      };
      const timer = this.clock.setTimeout(wake, delay);
      this.sleeping.add(wake);
    });
  }

  close(): void {
    this.signal?.removeEventListener('abort', this.wakeAll);
    this.wakeAll();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** A plain GET whose body is drained; resolves with the status. */
export async function getStatus(dispatcher: Dispatcher, url: string, headers?: Record<string, string>): Promise<number> {
  const response = await request(url, { dispatcher, headers });
  await response.body.dump();
  return response.statusCode;
}
