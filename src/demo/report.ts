import type { MockStats } from '../mock/stats.js';
import type { LoadResult } from './load.js';
import { RATE_LIMITED_ACTIONS } from '../metrics/metrics.js';
import type { SidecarFigures } from './sidecar-metrics.js';

/** One load phase of the demo: what the clients saw and what the upstream counted. */
export interface PhaseResult {
  /** Column heading, e.g. "without sidecar". */
  readonly title: string;
  /** Second heading line, e.g. "(own token each)". */
  readonly subtitle: string;
  readonly load: LoadResult;
  /** The mock's counters for this phase alone (reset before it). */
  readonly upstream: MockStats;
  /** From the sidecars' /metrics; absent for the phase without one. */
  readonly sidecar?: SidecarFigures;
}

interface Row {
  readonly label: string;
  /** undefined: the row does not apply to this phase (shown as a dash). */
  readonly value: (phase: PhaseResult) => number | undefined;
  /** Decimals shown; counts have none. */
  readonly decimals?: number;
}

const statusCount = (counts: Record<string, number>, status: number) => counts[String(status)] ?? 0;

/** The table's rows; test/demo reads them by label, so a renamed label is a visible change. */
export const ROWS: readonly Row[] = [
  { label: 'requests', value: (p) => p.load.requests },
  { label: 'requests/s', value: (p) => p.load.requestsPerSecond },
  { label: 'non-2xx seen by clients', value: (p) => p.load.non2xx },
  { label: '401s seen by clients', value: (p) => statusCount(p.load.byStatus, 401) },
  // The sidecar replays a request whose token was revoked, so upstream 401s can exceed the clients'.
  { label: '401s answered by upstream', value: (p) => statusCount(p.upstream.api.byStatus, 401) },
  { label: 'token requests', value: (p) => p.upstream.tokenRequests.total },
  { label: '429s seen by clients', value: (p) => statusCount(p.load.byStatus, 429) },
  // A 429 of a token's own budget is replayed on a slot with budget, so the clients see fewer.
  { label: '429s answered by upstream', value: (p) => statusCount(p.upstream.api.byStatus, 429) },
  { label: 'token pool size, peak', value: (p) => p.sidecar?.peakPoolSize },
  ...RATE_LIMITED_ACTIONS.map((action) => ({
    label: `rate-limited requests, ${action}`,
    value: (p: PhaseResult) => p.sidecar?.rateLimited[action],
  })),
  { label: 'p50 latency (ms)', value: (p) => p.load.p50Ms, decimals: 1 },
  { label: 'p99 latency (ms)', value: (p) => p.load.p99Ms, decimals: 1 },
];

/** What a row shows for a phase it does not apply to. */
export const NOT_APPLICABLE = '—';

const format = (value: number | undefined, decimals = 0) =>
  value === undefined ? NOT_APPLICABLE : value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });

/** The side-by-side table, one column per phase, numbers right-aligned. */
export function renderTable(phases: readonly PhaseResult[]): string {
  const labelWidth = Math.max(...ROWS.map((row) => row.label.length));
  const cells = phases.map((phase) => ROWS.map((row) => format(row.value(phase), row.decimals)));
  const widths = phases.map((phase, i) => Math.max(phase.title.length, phase.subtitle.length, ...cells[i]!.map((c) => c.length)));
  const line = (label: string, values: readonly string[]) =>
    [label.padEnd(labelWidth), ...values.map((v, i) => v.padStart(widths[i]!))].join('   ').trimEnd();
  return [
    line('', phases.map((p) => p.title)),
    line('', phases.map((p) => p.subtitle)),
    line('', widths.map((w) => '-'.repeat(w))),
    ...ROWS.map((row, r) => line(row.label, cells.map((column) => column[r]!))),
  ].join('\n');
}

/** One sentence comparing the two phases on what the sidecar is for: 401s, 429s and token requests. */
export function renderVerdict(naive: PhaseResult, sidecar: PhaseResult): string {
  const seen = (p: PhaseResult, status: number) => format(statusCount(p.load.byStatus, status));
  const tokens = (p: PhaseResult) => format(p.upstream.tokenRequests.total);
  const pool = sidecar.sidecar ? ` from a pool of at most ${format(sidecar.sidecar.peakPoolSize)} tokens` : '';
  return (
    `Through the sidecar the clients saw ${seen(sidecar, 401)} 401s and ${seen(sidecar, 429)} 429s, and the upstream ` +
    `${tokens(sidecar)} token requests${pool}; on their own they saw ${seen(naive, 401)} 401s and ${seen(naive, 429)} 429s, ` +
    `and made ${tokens(naive)} token requests.`
  );
}
