import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { createMetrics } from '../../src/metrics/metrics.js';
import { ClientStatusTally, StatusTally, TalliedHistogram } from '../../src/metrics/tally.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** On bounds, between them, below the first, above the last. */
const SAMPLES = [0.0004, 0.001, 0.0011, 0.003, 0.05, 0.07, 0.25, 0.9, 4.2, 31, 120, 0.0025];

function pair() {
  const ours = new Registry();
  const theirs = new Registry();
  const tallied = new TalliedHistogram({ name: 'h_seconds', help: 'a histogram', buckets: BUCKETS, registers: [ours] });
  const reference = new Histogram({ name: 'h_seconds', help: 'a histogram', buckets: BUCKETS, registers: [theirs] });
  return { ours, theirs, tallied, reference };
}

describe('TalliedHistogram', () => {
  it('exposes exactly what prom-client’s Histogram exposes for the same observations', async () => {
    const { ours, theirs, tallied, reference } = pair();
    assert.equal(await ours.metrics(), await theirs.metrics(), 'no observation yet');
    for (const value of SAMPLES) {
      tallied.observe(value);
      reference.observe(value);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    // As the cluster's workers send it; prom-client adds `exemplar: null` to each sample, which the aggregator ignores.
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((m) => ({ ...m, values: m.values.map((value) => ({ ...value, exemplar: undefined })) }));
    assert.deepEqual(withoutExemplars(await ours.getMetricsAsJSON()), withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('sums across workers as the cluster aggregator sums prom-client’s histograms', async () => {
    const a = pair();
    const b = pair();
    SAMPLES.forEach((value, i) => {
      const worker = i % 2 === 0 ? a : b;
      worker.tallied.observe(value);
      worker.reference.observe(value);
    });
    const ours = AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()]);
    const theirs = AggregatorRegistry.aggregate([await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()]);
    assert.equal(await ours.metrics(), await theirs.metrics());
  });

  it('ignores a value that is not a finite number, and reset starts from zero', async () => {
    const { ours, theirs, tallied } = pair();
    tallied.observe(Number.NaN);
    tallied.observe(Number.POSITIVE_INFINITY);
    assert.equal(await ours.metrics(), await theirs.metrics());
    tallied.observe(0.2);
    ours.resetMetrics();
    assert.equal(await ours.metrics(), await theirs.metrics());
  });
});

describe('StatusTally', () => {
  it('hands the counts since the last flush to the counter, by code, and errors as `error`', async () => {
    const registry = new Registry();
    const tally = new StatusTally();
    const counter: Counter<'code'> = new Counter({
      name: 'responses_total',
      help: 'r',
      labelNames: ['code'] as const,
      registers: [registry],
      collect: () => tally.flushInto(counter),
    });
    for (const code of [200, 200, 429, 503]) tally.count(code);
    tally.error();
    const first = await registry.getSingleMetricAsString('responses_total');
    assert.match(first, /responses_total\{code="200"\} 2/);
    assert.match(first, /responses_total\{code="429"\} 1/);
    assert.match(first, /responses_total\{code="error"\} 1/);
    tally.count(200);
    assert.match(await registry.getSingleMetricAsString('responses_total'), /responses_total\{code="200"\} 3/);
  });
});

describe('ClientStatusTally', () => {
  it('hands the counts to the counter by code and origin, each origin apart', async () => {
    const registry = new Registry();
    const tally = new ClientStatusTally();
    const counter: Counter<'code' | 'origin'> = new Counter({
      name: 'client_total',
      help: 'c',
      labelNames: ['code', 'origin'] as const,
      registers: [registry],
      collect: () => tally.flushInto(counter),
    });
    tally.count(200, 'upstream');
    tally.count(200, 'upstream');
    tally.count(429, 'sidecar');
    tally.count(429, 'upstream');
    const text = await registry.getSingleMetricAsString('client_total');
    assert.match(text, /client_total\{code="200",origin="upstream"\} 2/);
    assert.match(text, /client_total\{code="429",origin="sidecar"\} 1/);
    assert.match(text, /client_total\{code="429",origin="upstream"\} 1/);
    assert.doesNotMatch(text, /code="200",origin="sidecar"/);
  });
});

describe('pool_size_peak', () => {
  it('keeps the largest pool size of each profile while pool_size follows the current one', async () => {
    const metrics = createMetrics(new Registry(), { defaultMetrics: false });
    for (const size of [1, 3, 2]) metrics.setPoolSize('a', size);
    metrics.setPoolSize('b', 1);
    const text = await metrics.registry.metrics();
    assert.match(text, /token_sidecar_pool_size\{profile="a"\} 2/);
    assert.match(text, /token_sidecar_pool_size_peak\{profile="a"\} 3/);
    assert.match(text, /token_sidecar_pool_size_peak\{profile="b"\} 1/);
  });
});
