/**
 * A quantile from a histogram's cumulative buckets, the way Prometheus's `histogram_quantile`
 * computes it (promql/quantile.go, bucketQuantile): the rank `q × count` is found in the first
 * bucket whose cumulative count reaches it and placed linearly between that bucket's bounds (the
 * first bucket starts at 0); a rank in the `+Inf` bucket answers the largest finite bound. NaN when
 * there is no observation or no `+Inf` bucket.
 */
export interface Bucket {
  /** The bucket's `le`: its upper bound (`Infinity` for `+Inf`). */
  readonly upperBound: number;
  /** Observations at or below the bound (cumulative). */
  readonly count: number;
}

export function histogramQuantile(q: number, input: readonly Bucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const buckets = coalesce([...input].sort((a, b) => a.upperBound - b.upperBound));
  if (buckets.length < 2 || buckets.at(-1)!.upperBound !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Counts that went down between buckets (a scrape racing an observation) are raised, as Prometheus does.
  let highest = 0;
  const counts = buckets.map((bucket) => (highest = Math.max(highest, bucket.count)));
  const observations = counts.at(-1)!;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  const b = counts.findIndex((count) => count >= rank);
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let start = 0;
  let count = counts[b]!;
  if (b > 0) {
    start = buckets[b - 1]!.upperBound;
    count -= counts[b - 1]!;
    rank -= counts[b - 1]!;
  }
  const end = buckets[b]!.upperBound;
  return start + (end - start) * (rank / count);
}

/** Buckets with the same bound (from several series) are added up. */
function coalesce(sorted: readonly Bucket[]): Bucket[] {
  const out: Bucket[] = [];
  for (const bucket of sorted) {
    const last = out.at(-1);
    if (last && last.upperBound === bucket.upperBound) out[out.length - 1] = { upperBound: last.upperBound, count: last.count + bucket.count };
    else out.push(bucket);
  }
  return out;
}
