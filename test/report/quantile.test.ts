import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { histogramQuantile, type Bucket } from '../../src/report/quantile.js';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Cumulative buckets from per-bucket counts (the last count is above every bound). */
function cumulative(perBucket: readonly number[]): Bucket[] {
  let total = 0;
  return [...BOUNDS, Number.POSITIVE_INFINITY].map((upperBound, i) => ({ upperBound, count: (total += perBucket[i] ?? 0) }));
}

const CASES: Array<{ name: string; perBucket: number[] }> = [
  { name: 'all in the first bucket', perBucket: [10] },
  { name: 'spread', perBucket: [5, 20, 40, 20, 10, 3, 1, 1, 0, 0, 0] },
  { name: 'a long tail into +Inf', perBucket: [0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 3] },
  { name: 'one observation in the middle', perBucket: [0, 0, 0, 0, 1] },
];
const QUANTILES = [0.5, 0.9, 0.99];

describe('histogramQuantile', () => {
  it('answers what Prometheus’s histogram_quantile answers for the same buckets (checked by promtool)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quantile-'));
    try {
      const tests = CASES.flatMap(({ name, perBucket }, c) =>
        QUANTILES.map((q) => {
          const ours = histogramQuantile(q, cumulative(perBucket));
          assert.ok(Number.isFinite(ours), `${name} q=${q}: ${ours}`);
          const series = cumulative(perBucket)
            .map(({ upperBound, count }) => `      - series: 'h_bucket{case="${c}",le="${upperBound === Number.POSITIVE_INFINITY ? '+Inf' : upperBound}"}'\n        values: '${count}x2'`)
            .join('\n');
          return `  - interval: 1m\n    input_series:\n${series}\n    promql_expr_test:\n      - expr: histogram_quantile(${q}, h_bucket{case="${c}"})\n        eval_time: 1m\n        exp_samples:\n          - labels: '{case="${c}"}'\n            value: ${ours}\n`;
        }),
      );
      writeFileSync(join(dir, 'quantile.test.yml'), `tests:\n${tests.join('')}`);
      const run = spawnSync('promtool', ['test', 'rules', 'quantile.test.yml'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.error, undefined, 'promtool is needed (Debian package prometheus)');
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is NaN without observations or without a +Inf bucket, and the largest finite bound for a rank in +Inf', () => {
    assert.ok(Number.isNaN(histogramQuantile(0.5, cumulative([]))));
    assert.ok(Number.isNaN(histogramQuantile(0.5, [{ upperBound: 1, count: 3 }])));
    assert.equal(histogramQuantile(0.99, cumulative([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5])), 1);
  });

  it('interpolates linearly inside the bucket, from 0 for the first', () => {
    assert.equal(histogramQuantile(0.5, [{ upperBound: 0.01, count: 10 }, { upperBound: Number.POSITIVE_INFINITY, count: 10 }]), 0.005);
    assert.equal(histogramQuantile(0.75, [{ upperBound: 1, count: 0 }, { upperBound: 3, count: 4 }, { upperBound: Number.POSITIVE_INFINITY, count: 4 }]), 2.5);
  });
});
