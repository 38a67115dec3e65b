import type { Counter, Gauge } from 'prom-client';

/**
 * Per-request figures kept in plain numbers on the request path and handed to prom-client only when
 * it is scraped (from the metric's `collect()`): a prom-client update hashes its labels on every
 * call, a tally is one array or field write. Single-threaded: the request path writes, `collect()`
 * reads, both on the event loop.
 */

/** Upstream answers by HTTP status code, plus `error` (no answer), for a counter labelled `code`. */
export class StatusTally {
  /** Counts not yet handed to the counter, indexed by status code (HTTP codes are three digits). */
  private readonly pending = new Float64Array(1000);
  private pendingErrors = 0;

  count(statusCode: number): void {
    this.pending[statusCode >= 0 && statusCode < 1000 ? statusCode : 0]! += 1;
  }

  error(): void {
    this.pendingErrors += 1;
  }

  /** Adds what was counted since the last flush to `counter` and starts again from zero. */
  flushInto(counter: Counter<'code'>): void {
    flushCodes(this.pending, (code, n) => counter.inc({ code }, n));
    if (this.pendingErrors > 0) {
      counter.inc({ code: 'error' }, this.pendingErrors);
      this.pendingErrors = 0;
    }
  }
}

/** Who gave a client its answer: the upstream (relayed by the proxy) or the sidecar itself. */
export type AnswerOrigin = 'upstream' | 'sidecar';

/**
 * What clients were answered, by status code and origin, for a counter labelled `code` and
 * `origin`: the upstream's answers that were relayed, and the sidecar's own (its JSON errors, a
 * refusal, an unreachable upstream, a request Fastify rejected).
 */
export class ClientStatusTally {
  private readonly relayed = new Float64Array(1000);
  private readonly ownAnswers = new Float64Array(1000);

  count(statusCode: number, origin: AnswerOrigin): void {
    (origin === 'upstream' ? this.relayed : this.ownAnswers)[statusCode >= 0 && statusCode < 1000 ? statusCode : 0]! += 1;
  }

  /** Adds what was counted since the last flush to `counter` and starts again from zero. */
  flushInto(counter: Counter<'code' | 'origin'>): void {
    flushCodes(this.relayed, (code, n) => counter.inc({ code, origin: 'upstream' }, n));
    flushCodes(this.ownAnswers, (code, n) => counter.inc({ code, origin: 'sidecar' }, n));
  }
}

function flushCodes(pending: Float64Array, add: (code: string, n: number) => void): void {
  for (let code = 0; code < pending.length; code++) {
    const n = pending[code]!;
    if (n === 0) continue;
    pending[code] = 0;
    add(String(code), n);
  }
}

/** One gauge series that its owner writes as a plain field; undefined until there is a value. */
export interface GaugeCell {
  value: number | undefined;
}

/** The cells of a gauge labelled by profile and slot, each owned by one pool slot. */
export class SlotGaugeCells {
  private readonly cells: Array<{ labels: { profile: string; slot: string }; cell: GaugeCell }> = [];

  /** A new cell for one slot's series (a slot takes its cell once, when it is built). */
  cell(profile: string, slot: number): GaugeCell {
    const cell: GaugeCell = { value: undefined };
    this.cells.push({ labels: { profile, slot: String(slot) }, cell });
    return cell;
  }

  /** Sets every series that has a value; a series without one stays absent (0 would be wrong). */
  flushInto(gauge: Gauge<'profile' | 'slot'>): void {
    for (const { labels, cell } of this.cells) if (cell.value !== undefined) gauge.set(labels, cell.value);
  }
}

/** One sample of a metric as prom-client's registry reads it from `get()`. */
interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

/**
 * A histogram without labels whose observations are plain array writes, for the request path:
 * prom-client's `Histogram.observe` allocates a closure and a label object, hashes the labels and
 * looks the bucket up by a number-turned-string key on every call (about 1.5 µs a request here).
 * It registers itself with the registries as prom-client's own metrics do, and `get()` answers what
 * prom-client's Histogram answers for the same observations (same names, `le` labels, cumulative
 * buckets, `_sum`, `_count`, aggregated by sum across workers), so the exposition is unchanged.
 */
export class TalliedHistogram {
  readonly type = 'histogram';
  /** How the cluster's aggregator combines the workers' samples. */
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly upperBounds: readonly number[];
  /** Observations per bucket, not cumulative; the last one is above every bound (+Inf). */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(config: { name: string; help: string; buckets: readonly number[]; registers: readonly { registerMetric(metric: never): void }[] }) {
    this.name = config.name;
    this.help = config.help;
    this.upperBounds = [...config.buckets].sort((a, b) => a - b);
    this.counts = new Float64Array(this.upperBounds.length + 1);
    for (const registry of config.registers) registry.registerMetric(this as never);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    const bucket = `${this.name}_bucket`;
    const values: MetricValue[] = [];
    let cumulative = 0;
    this.upperBounds.forEach((le, i) => {
      cumulative += this.counts[i]!;
      values.push({ labels: { le }, value: cumulative, metricName: bucket });
    });
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: bucket });
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
