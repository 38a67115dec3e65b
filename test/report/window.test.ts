import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markOf } from '../../src/report/mark.js';
import { parseExposition } from '../../src/report/prom-text.js';
import type { InstanceScrape } from '../../src/report/scrape.js';
import { windowed } from '../../src/report/window.js';

const scrape = (instanceId: string, text: string): InstanceScrape => ({ admin: `http://${instanceId}`, instanceId, exposition: parseExposition(text), token: {}, at: 0 });

const AT_MARK = `# TYPE c_total counter
c_total{code="200"} 10
# TYPE g gauge
g 5
# TYPE h_seconds histogram
h_seconds_bucket{le="1"} 2
h_seconds_bucket{le="+Inf"} 3
h_seconds_sum 4
h_seconds_count 3
`;
const NOW = `# TYPE c_total counter
c_total{code="200"} 25
c_total{code="429"} 2
# TYPE g gauge
g 7
# TYPE h_seconds histogram
h_seconds_bucket{le="1"} 5
h_seconds_bucket{le="+Inf"} 8
h_seconds_sum 9
h_seconds_count 8
`;

describe('the report window', () => {
  it('keeps counters and histograms of the mark, never gauges', () => {
    const mark = markOf([scrape('a', AT_MARK)], new Date(0));
    assert.deepEqual(mark.instances[0]!.samples.map((s) => s.name), ['c_total', 'h_seconds_bucket', 'h_seconds_bucket', 'h_seconds_sum', 'h_seconds_count']);
  });

  it('counts counters and histogram buckets from the mark; gauges stay as they are; a new series counts from 0', () => {
    const mark = markOf([scrape('a', AT_MARK)], new Date(0));
    const w = windowed(scrape('a', NOW), mark);
    assert.equal(w.since, 'mark');
    const value = (name: string, labels: Record<string, string> = {}) => w.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value('c_total', { code: '200' }), 15);
    assert.equal(value('c_total', { code: '429' }), 2);
    assert.equal(value('g'), 7);
    assert.equal(value('h_seconds_bucket', { le: '1' }), 3);
    assert.equal(value('h_seconds_bucket', { le: '+Inf' }), 5);
    assert.equal(value('h_seconds_count'), 5);
  });

  it('counts an instance the mark does not know (a restart: a new id) from its start', () => {
    const mark = markOf([scrape('a', AT_MARK)], new Date(0));
    const w = windowed(scrape('b', NOW), mark);
    assert.equal(w.since, 'start');
    assert.equal(w.samples.find((s) => s.name === 'c_total' && s.labels.code === '200')?.value, 25);
  });
});
