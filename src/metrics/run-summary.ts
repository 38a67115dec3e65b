import type { Metrics } from './metrics.js';

/** What one instance did over its life, as its last log lines tell it (and a person reads it). */
export interface RunSummary {
  /** Upstream answers by status code (`error`: no answer). */
  readonly requests: Readonly<Record<string, number>>;
  /** Requests that met a 401, by how the replay ended. */
  readonly replays: Readonly<Record<string, number>>;
  /** Token endpoint calls by result, all profiles together. */
  readonly tokenRequests: Readonly<Record<string, number>>;
  /** Requests a brake refused, by reason. */
  readonly refusals: Readonly<Record<string, number>>;
  /** Requests replayed on another token after a 429 of the token's own budget. */
  readonly replayed429: number;
}

/** Sums a counter's samples by one label, leaving out zeros. */
async function byLabel(metric: { get(): Promise<{ values: { labels: Record<string, string | number | undefined>; value: number }[] }> }, label: string): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  for (const { labels, value } of (await metric.get()).values) {
    if (value === 0) continue;
    const key = String(labels[label]);
    sums[key] = (sums[key] ?? 0) + value;
  }
  return sums;
}

export async function runSummary(metrics: Metrics): Promise<RunSummary> {
  const rateLimited = await byLabel(metrics.rateLimited, 'action');
  return {
    requests: await byLabel(metrics.upstreamResponses, 'code'),
    replays: await byLabel(metrics.replays, 'result'),
    tokenRequests: await byLabel(metrics.tokenRequests, 'result'),
    refusals: await byLabel(metrics.refusals, 'reason'),
    replayed429: rateLimited.replayed ?? 0,
  };
}

/** One line: `1200 requests (200: 1190, 401: 10); 10 replays after a 401 (success: 10); 0 after a 429; 3 token requests (success: 3); 0 refused`. */
export function summaryLine(summary: RunSummary): string {
  const total = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((sum, n) => sum + n, 0);
  const detail = (counts: Readonly<Record<string, number>>) => {
    const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
    return entries.length === 0 ? '' : ` (${entries.map(([key, n]) => `${key}: ${n}`).join(', ')})`;
  };
  return [
    `${total(summary.requests)} requests upstream${detail(summary.requests)}`,
    `${total(summary.replays)} replays after a 401${detail(summary.replays)}`,
    `${summary.replayed429} after a 429`,
    `${total(summary.tokenRequests)} token requests${detail(summary.tokenRequests)}`,
    `${total(summary.refusals)} refused by a brake${detail(summary.refusals)}`,
  ].join('; ');
}
