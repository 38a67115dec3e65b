import type { Mark } from './mark.js';
import { familyOf, type Sample } from './prom-text.js';
import type { InstanceScrape } from './scrape.js';

/**
 * One instance's samples for the report's window: counters and histograms less their value at the
 * mark, gauges as they are now. An instance the mark does not know (started after it, or restarted:
 * a new instance id) counts from its start; so does a series that went down since the mark.
 */
export interface WindowedInstance {
  readonly admin: string;
  readonly instanceId: string;
  /** `mark`: counted from the mark; `start`: from the instance's start. */
  readonly since: 'mark' | 'start';
  readonly samples: readonly Sample[];
}

export function windowed(scrape: InstanceScrape, mark: Mark | undefined): WindowedInstance {
  const { admin, instanceId, exposition } = scrape;
  const marked = mark?.instances.find((instance) => instance.instanceId === instanceId);
  if (!marked) return { admin, instanceId, since: 'start', samples: exposition.samples };
  const before = new Map(marked.samples.map((sample) => [seriesKey(sample), sample.value]));
  const samples = exposition.samples.map((sample) => {
    const type = exposition.types.get(familyOf(sample.name, exposition.types));
    if (type !== 'counter' && type !== 'histogram') return sample;
    const then = before.get(seriesKey(sample)) ?? 0;
    return then <= sample.value ? { ...sample, value: sample.value - then } : sample;
  });
  return { admin, instanceId, since: 'mark', samples };
}

/** A series' identity: its name and its labels in a fixed order. */
export function seriesKey(sample: Pick<Sample, 'name' | 'labels'>): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(sample.labels[key])}`)
    .join(',');
  return `${sample.name}{${labels}}`;
}
