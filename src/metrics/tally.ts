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
    const { pending } = this;
    for (let code = 0; code < pending.length; code++) {
      const n = pending[code]!;
      if (n === 0) continue;
      pending[code] = 0;
      counter.inc({ code: String(code) }, n);
    }
    if (this.pendingErrors > 0) {
      counter.inc({ code: 'error' }, this.pendingErrors);
      this.pendingErrors = 0;
    }
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
