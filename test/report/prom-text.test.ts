import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { ExpositionError, familyOf, parseExposition } from '../../src/report/prom-text.js';

describe('the Prometheus text reader', () => {
  it("reads prom-client's own exposition: types, labels, histogram series", async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'c_total', help: 'a "counter"\nwith a newline', labelNames: ['code'], registers: [registry] });
    const histogram = new Histogram({ name: 'h_seconds', help: 'h', buckets: [0.1, 1], registers: [registry] });
    counter.inc({ code: '200' }, 3);
    counter.inc({ code: 'we\\ird "one"\n' }, 1);
    histogram.observe(0.05);
    histogram.observe(5);
    const { samples, types } = parseExposition(await registry.metrics());
    assert.equal(types.get('c_total'), 'counter');
    assert.equal(types.get('h_seconds'), 'histogram');
    assert.deepEqual(samples.find((s) => s.name === 'c_total' && s.labels.code === '200')?.value, 3);
    assert.ok(samples.some((s) => s.name === 'c_total' && s.labels.code === 'we\\ird "one"\n'), 'escaped label value read back');
    assert.deepEqual(
      samples.filter((s) => s.name === 'h_seconds_bucket').map((s) => [s.labels.le, s.value]),
      [['0.1', 1], ['1', 1], ['+Inf', 2]],
    );
    assert.equal(familyOf('h_seconds_bucket', types), 'h_seconds');
    assert.equal(familyOf('c_total', types), 'c_total');
  });

  it('reads NaN, ±Inf, timestamps and spaces around labels', () => {
    const { samples } = parseExposition('a NaN\nb{x="1" , y="2"} +Inf 1700000000000\nc -Inf\n# HELP d whatever\nd 1e3\n');
    assert.ok(Number.isNaN(samples[0]!.value));
    assert.equal(samples[1]!.value, Number.POSITIVE_INFINITY);
    assert.deepEqual(samples[1]!.labels, { x: '1', y: '2' });
    assert.equal(samples[2]!.value, Number.NEGATIVE_INFINITY);
    assert.equal(samples[3]!.value, 1000);
  });

  it('names the line it cannot read', () => {
    assert.throws(() => parseExposition('ok 1\nbroken{x="1" 2\n'), (err: Error) => err instanceof ExpositionError && /line 2/.test(err.message));
    assert.throws(() => parseExposition('v notanumber\n'), /bad sample value/);
  });
});
