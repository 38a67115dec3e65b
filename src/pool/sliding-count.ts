/**
 * Requests in a sliding window, counted in buckets of a fixed length: the current (partial) bucket
 * plus the `windowBuckets` whole ones before it. That span is at least the window, so the count is
 * never lower than what a limiter counting over a fixed window (from any start) or a sliding one
 * has seen: Genesys does not say which kind a token's minute is (docs/genesys.md §5), and a count
 * that is a bucket long too high costs a few percent of the budget, never a 429.
 *
 * Time is an argument; `add` and `total` are O(1) amortized (a running sum, buckets rolled as time
 * passes) and allocate nothing after construction, so the request path may call them per request.
 */
export class SlidingCount {
  /** Ring of bucket counts; its length is a power of two larger than any span it sums. */
  private counts: Float64Array;
  private mask: number;
  /** The newest bucket (time / bucketMs, floored); -Infinity before the first `add` or `total`. */
  private bucket = Number.NEGATIVE_INFINITY;
  private sum = 0;

  constructor(
    private bucketMs: number,
    private windowBuckets: number,
  ) {
    this.counts = new Float64Array(ringSize(windowBuckets));
    this.mask = this.counts.length - 1;
  }

  add(now: number, n = 1): void {
    this.roll(now);
    this.counts[this.bucket & this.mask]! += n;
    this.sum += n;
  }

  /** Requests in the current bucket and the `windowBuckets` whole ones before it. */
  total(now: number): number {
    this.roll(now);
    return this.sum;
  }

  /** Starts over at zero (a new token: a new budget). */
  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
  }

  /** A window of another length (learnt from a 429): counts start over, bucket length as given. */
  resize(bucketMs: number, windowBuckets: number): void {
    this.bucketMs = bucketMs;
    this.windowBuckets = windowBuckets;
    this.counts = new Float64Array(ringSize(windowBuckets));
    this.mask = this.counts.length - 1;
    this.bucket = Number.NEGATIVE_INFINITY;
    this.sum = 0;
  }

  /** Moves the newest bucket to `now`'s, taking the buckets that leave the span out of the sum. */
  private roll(now: number): void {
    const bucket = Math.floor(now / this.bucketMs);
    if (bucket <= this.bucket) return;
    if (this.bucket === Number.NEGATIVE_INFINITY || bucket - this.bucket > this.windowBuckets) {
      this.counts.fill(0);
      this.sum = 0;
    } else {
      for (let b = this.bucket + 1; b <= bucket; b++) {
        const leaving = (b - this.windowBuckets - 1) & this.mask;
        this.sum -= this.counts[leaving]!;
        this.counts[leaving] = 0;
      }
    }
    this.bucket = bucket;
  }
}

function ringSize(windowBuckets: number): number {
  let size = 2;
  while (size < windowBuckets + 2) size *= 2;
  return size;
}
