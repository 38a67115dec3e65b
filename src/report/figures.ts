import type { Sample } from './prom-text.js';
import { histogramQuantile, type Bucket } from './quantile.js';
import type { WindowedInstance } from './window.js';

/**
 * The report's figures for one instance or for the whole fleet, from windowed samples (window.ts).
 * Counters add up across instances; the pool size peak is the largest any instance saw (the pool
 * is fleet-wide); quantiles come from the instances' histogram buckets added up, as
 * `histogram_quantile(q, sum by (le) (…))` would give them.
 */
export interface Figures {
  readonly upstream: {
    /** Answers the upstream gave (every status code). */
    readonly responses: number;
    /** Requests that got no answer (connection refused or reset, timeout). */
    readonly errors: number;
    readonly byCode: Readonly<Record<string, number>>;
  };
  readonly client: {
    readonly responses: number;
    readonly byCode: Readonly<Record<string, number>>;
    /** By who answered: the upstream (relayed) or the sidecar itself; each by code. */
    readonly upstream: { readonly responses: number; readonly byCode: Readonly<Record<string, number>> };
    readonly sidecar: { readonly responses: number; readonly byCode: Readonly<Record<string, number>> };
  };
  /** Requests that met an upstream 401, by how their replay ended. */
  readonly replays: Tally;
  /** Requests that met an exhausted rate budget (or a 429 of the token's own budget), by what happened. */
  readonly rateLimited: Tally;
  readonly tokenRequests: Tally;
  /** The largest pool size seen, in all and per profile; null when no instance exposes it. */
  readonly poolSizePeak: { readonly max: number | null; readonly byProfile: Readonly<Record<string, number>> };
  readonly lock: {
    readonly acquisitions: Tally;
    readonly wait: Latency;
  };
  /** Time the sidecar added to each request (token_sidecar_added_latency_seconds); null when an instance lacks the metric. */
  readonly addedLatency: Latency | null;
  /** Requests the sidecar refused (token_sidecar_refusals_total), by reason. */
  readonly refusals: Tally;
}

export interface Tally {
  readonly total: number;
  readonly by: Readonly<Record<string, number>>;
}

export interface Latency {
  readonly count: number;
  readonly sumSeconds: number;
  /** null: no observation in the window. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export const METRIC = {
  upstreamResponses: 'token_sidecar_upstream_responses_total',
  clientResponses: 'token_sidecar_client_responses_total',
  replays: 'token_sidecar_replays_total',
  rateLimited: 'token_sidecar_rate_limited_total',
  tokenRequests: 'token_sidecar_token_requests_total',
  poolSizePeak: 'token_sidecar_pool_size_peak',
  lockAcquisitions: 'token_sidecar_lock_acquisitions_total',
  lockWait: 'token_sidecar_lock_wait_seconds',
  addedLatency: 'token_sidecar_added_latency_seconds',
  refusals: 'token_sidecar_refusals_total',
} as const;

export function figuresOf(instances: readonly WindowedInstance[]): Figures {
  const all = instances.flatMap((instance) => instance.samples);
  const upstreamByCode = tallyBy(all, METRIC.upstreamResponses, 'code');
  const errors = upstreamByCode.by.error ?? 0;
  const { error: _noAnswer, ...answered } = upstreamByCode.by;
  const client = (origin?: string) => tallyBy(all, METRIC.clientResponses, 'code', origin === undefined ? {} : { origin });
  const clientAll = client();
  const clientUpstream = client('upstream');
  const clientSidecar = client('sidecar');
  const peaks = all.filter((s) => s.name === METRIC.poolSizePeak);
  const byProfile: Record<string, number> = {};
  for (const s of peaks) byProfile[s.labels.profile ?? ''] = Math.max(byProfile[s.labels.profile ?? ''] ?? 0, s.value);
  const everyInstanceHasAdded = instances.length > 0 && instances.every((instance) => instance.samples.some((s) => s.name === `${METRIC.addedLatency}_count`));
  return {
    upstream: { responses: upstreamByCode.total - errors, errors, byCode: answered },
    client: {
      responses: clientAll.total,
      byCode: clientAll.by,
      upstream: { responses: clientUpstream.total, byCode: clientUpstream.by },
      sidecar: { responses: clientSidecar.total, byCode: clientSidecar.by },
    },
    replays: tallyBy(all, METRIC.replays, 'result'),
    rateLimited: tallyBy(all, METRIC.rateLimited, 'action'),
    tokenRequests: tallyBy(all, METRIC.tokenRequests, 'result'),
    poolSizePeak: { max: peaks.length === 0 ? null : Math.max(...peaks.map((s) => s.value)), byProfile },
    lock: { acquisitions: tallyBy(all, METRIC.lockAcquisitions, 'result'), wait: latencyOf(all, METRIC.lockWait) },
    addedLatency: everyInstanceHasAdded ? latencyOf(all, METRIC.addedLatency) : null,
    refusals: tallyBy(all, METRIC.refusals, 'reason'),
  };
}

/** The sum of `name`'s samples matching `where`, in all and by the value of `label`. */
function tallyBy(samples: readonly Sample[], name: string, label: string, where: Record<string, string> = {}): Tally {
  const by: Record<string, number> = {};
  let total = 0;
  for (const s of samples) {
    if (s.name !== name || !Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    total += s.value;
    const key = s.labels[label] ?? '';
    by[key] = (by[key] ?? 0) + s.value;
  }
  return { total, by: sortedKeys(by) };
}

function latencyOf(samples: readonly Sample[], family: string): Latency {
  const perBound = new Map<number, number>();
  let count = 0;
  let sumSeconds = 0;
  for (const s of samples) {
    if (s.name === `${family}_bucket`) {
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      perBound.set(le, (perBound.get(le) ?? 0) + s.value);
    } else if (s.name === `${family}_count`) count += s.value;
    else if (s.name === `${family}_sum`) sumSeconds += s.value;
  }
  const buckets: Bucket[] = [...perBound].map(([upperBound, n]) => ({ upperBound, count: n }));
  const ms = (q: number) => {
    const seconds = histogramQuantile(q, buckets);
    return Number.isFinite(seconds) ? seconds * 1000 : null;
  };
  return { count, sumSeconds, p50Ms: ms(0.5), p99Ms: ms(0.99) };
}

/** Status codes and names in a stable order, so every renderer lists them alike. */
function sortedKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
}
