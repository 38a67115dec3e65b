import { performance } from 'node:perf_hooks';

/**
 * Where one proxied request's time went, as the `Server-Timing` response header tells the client
 * (W3C Server Timing) and `token_sidecar_added_latency_seconds` counts:
 *
 *   sidecar;dur=…   the sidecar's own time: everything below subtracted from the time since the
 *                   proxy took the request (routing, the preHandler, reading a body to buffer it,
 *                   choosing a token, writing the request, handling the answer's headers)
 *   token;dur=…     waiting for a token: none held yet (the first requests), or on a 401 replay the
 *                   newer token the replay goes out with; 0 in steady state
 *   budget;dur=…    held because every token was out of rate budget (the pool's leaseOverBudget:
 *                   RATE_LIMIT_POLICY wait, or a hold while an auto pool grows)
 *   upstream;dur=…  dispatch to the first byte of the upstream's answer, SUMMED over the attempts:
 *                   a replayed request counts both. Summed, not the last attempt alone, so the four
 *                   parts add up to what the client waited for the headers: the first attempt's
 *                   401 or 429 was the upstream's time, not the sidecar's
 *   replay;desc="401" | desc="429"   only when the request was sent twice, and why
 *
 * Durations are milliseconds with microsecond resolution. The parts cover the time up to the
 * answer's headers; the client also waits for the body, which the sidecar streams through.
 *
 * Per request this costs one RequestTiming (a fixed-shape object of numbers, created by the proxy's
 * preHandler) and, when the header is on, one string. The upstream's own `Server-Timing`, if any, is
 * kept: ours is appended as a further field line, which RFC 9110 §5.3 makes the same list as one
 * comma-joined line.
 */
export class RequestTiming {
  /** performance.now() when the proxy took the request. */
  readonly startedAt: number;
  /** Integer microseconds. */
  tokenUs = 0;
  budgetUs = 0;
  upstreamUs = 0;
  /** 0, or the status that was replayed (401 or 429). */
  replayed = 0;

  constructor(startedAt: number) {
    this.startedAt = startedAt;
  }
}

/**
 * The key under which a request's dispatch headers carry its RequestTiming from the proxy plugin to
 * the token interceptor, as the pool rides (token-interceptor.ts carryPool): reply-from copies
 * symbol keys, undici writes only string keys.
 */
const TIMING = Symbol('token-sidecar request timing');

export function carryTiming<H extends object>(headers: H, timing: RequestTiming): H {
  (headers as { [TIMING]?: RequestTiming })[TIMING] = timing;
  return headers;
}

export function timingOf(headers: unknown): RequestTiming | undefined {
  return (headers as { [TIMING]?: RequestTiming } | null | undefined)?.[TIMING];
}

/** Integer microseconds from `since` (a performance.now() reading) to now. */
export function microsecondsSince(since: number): number {
  return Math.round((performance.now() - since) * 1000);
}

/** The sidecar's own part up to now, in microseconds: the whole time less token, budget and upstream (never below 0). */
export function sidecarMicroseconds(timing: RequestTiming, now: number): number {
  const sidecar = Math.round((now - timing.startedAt) * 1000) - timing.tokenUs - timing.budgetUs - timing.upstreamUs;
  return sidecar > 0 ? sidecar : 0;
}

export const SERVER_TIMING_HEADER = 'server-timing';

/** The header value, e.g. `sidecar;dur=0.061, token;dur=0, budget;dur=0, upstream;dur=1.234`. */
export function serverTimingValue(timing: RequestTiming, sidecarUs: number): string {
  const value = `sidecar;dur=${sidecarUs / 1000}, token;dur=${timing.tokenUs / 1000}, budget;dur=${timing.budgetUs / 1000}, upstream;dur=${timing.upstreamUs / 1000}`;
  return timing.replayed === 0 ? value : `${value}, replay;desc="${timing.replayed}"`;
}

/**
 * Appends our field line to an answer's raw headers (undici's name, value, name, value… list, which
 * the caller owns once handed it). Any `Server-Timing` of the upstream's stays where it is.
 */
export function appendServerTiming(rawHeaders: unknown[], value: string): void {
  rawHeaders.push(SERVER_TIMING_HEADER, value);
}

/** The parts of a `Server-Timing` value that we write, read back (tests, clients): name → dur ms or desc. */
export function parseServerTiming(header: string | string[] | undefined): Map<string, { dur?: number; desc?: string }> {
  const parts = new Map<string, { dur?: number; desc?: string }>();
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const metric of lines.join(',').split(',')) {
    const [name, ...params] = metric.trim().split(';');
    if (!name) continue;
    const entry: { dur?: number; desc?: string } = {};
    for (const param of params) {
      const [key, raw = ''] = param.trim().split('=');
      if (key === 'dur') entry.dur = Number(raw);
      else if (key === 'desc') entry.desc = raw.replace(/^"|"$/g, '');
    }
    parts.set(name.trim(), entry);
  }
  return parts;
}
