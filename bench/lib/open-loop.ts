import { Pool } from 'undici';

/**
 * Open-loop load at a fixed rate on undici: request i is due at start + i/rate whatever happened to
 * the earlier ones, and its latency counts from when it was due, not from when it was sent, so a
 * stall shows up in the percentiles instead of silently slowing the generator down ("coordinated
 * omission"). autocannon's `overallRate` is not used because it is a per-second budget per
 * connection: each second opens with a burst of back-to-back requests and then idles, which measures
 * queueing under bursts rather than latency at a steady rate.
 */
export interface OpenLoopOptions {
  readonly origin: string;
  readonly path: string;
  readonly requestsPerSecond: number;
  readonly durationSeconds: number;
  /** Upper bound of concurrent connections; undici queues beyond it (the wait counts as latency). */
  readonly connections: number;
  readonly headers?: Record<string, string>;
}

export interface OpenLoopResult {
  readonly sent: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Answers per second actually completed over the run. */
  readonly achievedRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** Timers fire at best every millisecond: each tick sends every request that has come due. */
const TICK_MS = 1;

export async function openLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(opts.origin, { connections: opts.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const total = Math.round(opts.requestsPerSecond * opts.durationSeconds);
  const intervalMs = 1000 / opts.requestsPerSecond;
  const latencies = new Float64Array(total);
  let sent = 0;
  let answered = 0;
  let non2xx = 0;
  let errors = 0;
  const started = performance.now();

  const send = (index: number, dueAt: number): Promise<void> =>
    pool.request({ path: opts.path, method: 'GET', headers: opts.headers }).then(
      async (response) => {
        await response.body.dump();
        if (response.statusCode < 200 || response.statusCode >= 300) non2xx++;
        latencies[index] = performance.now() - dueAt;
        answered++;
      },
      () => {
        errors++;
        latencies[index] = performance.now() - dueAt;
      },
    );

  const inFlight: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
      while (sent < due) {
        inFlight.push(send(sent, started + sent * intervalMs));
        sent++;
      }
      if (sent < total) setTimeout(tick, TICK_MS);
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsedSeconds = (performance.now() - started) / 1000;
  await pool.close();

  const sorted = latencies.sort();
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return {
    sent,
    non2xx,
    errors,
    achievedRate: Math.round(answered / elapsedSeconds),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
