import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SETTINGS } from '../../src/config/settings.js';
import { CONTRACT_ENV, CONTRACT_METRICS, DEFAULT_ADMIN_PORT, DEFAULT_PORT, isKnownSeries, readRepoFile } from './contract.js';
import { seriesNames } from './promql.js';
import { parseXml } from './xml.js';

test('every setting the deployment files may use is one the sidecar reads', () => {
  const read = new Set<string>(Object.values(SETTINGS).map((setting) => setting.env));
  for (const name of CONTRACT_ENV) assert.ok(read.has(name), `${name} is in src/config/settings.ts`);
});

test("the names the deployment files may use are the README's: settings, their defaults, metrics", () => {
  const readme = readRepoFile('README.md');
  for (const name of CONTRACT_ENV) {
    // A `_FILE` variant is named in its setting's row rather than in a row of its own.
    const written = name.endsWith('_FILE') ? `\`${name}\`` : `| \`${name}\` |`;
    assert.ok(readme.includes(written), `${name} is in the README's settings table`);
  }
  assert.match(readme, new RegExp(`\\| \`PORT\` \\| \`${DEFAULT_PORT}\` \\|`), `the README gives PORT the default ${DEFAULT_PORT}`);
  assert.match(readme, new RegExp(`\\| \`ADMIN_PORT\` \\| \`${DEFAULT_ADMIN_PORT}\` \\|`), `the README gives ADMIN_PORT the default ${DEFAULT_ADMIN_PORT}`);
  for (const name of CONTRACT_METRICS) assert.match(readme, new RegExp(`\\| \`${name}[{\`]`), `${name} is a row of the README's metrics table`);
});

test('the query reader finds series names and skips functions, labels, ranges and variables', () => {
  assert.deepEqual(
    seriesNames('histogram_quantile(0.99, sum by (le) (rate(token_sidecar_lock_wait_seconds_bucket{instance=~"$instance", le!="+Inf"}[$__rate_interval])))'),
    ['token_sidecar_lock_wait_seconds_bucket'],
  );
  assert.deepEqual(
    seriesNames('max by (job, slot) (token_sidecar_token_expiry_timestamp_seconds offset 2m) - time() < 60 and on (job) up == 0'),
    ['token_sidecar_token_expiry_timestamp_seconds', 'up'],
  );
  assert.deepEqual(seriesNames('label_values(up{job="token-sidecar"}, instance)'), ['up']);
  assert.deepEqual(seriesNames('sum(rate(token_sidecar_replay_total[5m]))'), ['token_sidecar_replay_total']);
  assert.equal(isKnownSeries('token_sidecar_replay_total'), false, 'a misspelt metric is caught');
  assert.equal(isKnownSeries('token_sidecar_upstream_request_duration_seconds_count'), true);
  assert.equal(isKnownSeries('token_sidecar_redis_up_bucket'), false, 'only histograms have buckets');
});

test('the XML reader rejects what JMeter could not load', () => {
  assert.equal(parseXml('<?xml version="1.0"?><a x="1"><b>&lt;&#65;</b><!-- c --></a>').children[0]?.text, '<A');
  for (const broken of ['<a><b></a></b>', '<a x="1" x="2"/>', '<a>&nbsp;</a>', '<a>1 < 2</a>', '<a/><b/>', '<a x=1/>', '<a>']) {
    assert.throws(() => parseXml(broken), SyntaxError, broken);
  }
});
