import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { asArray, asRecord, asString, isKnownSeries, readYaml, repoPath } from './contract.js';
import { seriesNames } from './promql.js';

const dir = repoPath('docker/prometheus');

/** Debian/Ubuntu package `prometheus` provides promtool; CI installs it. */
const promtoolMissing = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error !== undefined;
const skipWithoutPromtool = promtoolMissing ? 'promtool is not installed (apt-get install prometheus)' : false;

function promtool(...args: string[]): void {
  const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `promtool ${args.join(' ')} failed:\n${run.stdout}${run.stderr}`);
}

const rules = asArray(asRecord(readYaml('docker/prometheus/alerts.yml'), 'alerts.yml').groups, 'groups')
  .flatMap((g) => asArray(asRecord(g, 'group').rules, 'rules'))
  .map((r) => asRecord(r, 'rule'));

test('promtool accepts the Prometheus config and the rule files it names', { skip: skipWithoutPromtool }, () => {
  promtool('check', 'config', 'prometheus.yml');
});

test('promtool accepts the alert rules', { skip: skipWithoutPromtool }, () => {
  promtool('check', 'rules', 'alerts.yml');
});

test('the alert rules pass their unit tests', { skip: skipWithoutPromtool }, () => {
  promtool('test', 'rules', 'alerts.test.yml');
});

test('the alerts cover refresh failures, expiry, replays, 429s, a pool at its cap, Redis and dead sidecars', () => {
  assert.deepEqual(rules.map((r) => r.alert).sort(), [
    'PoolAtCap', 'RedisDown', 'ReplaysSpiking', 'SidecarDown', 'TokenExpiringWithoutSuccessor', 'TokenRefreshFailing', 'UpstreamRateLimited',
  ]);
});

test('every alert waits a while, has a severity and explains itself', () => {
  for (const rule of rules) {
    const name = String(rule.alert);
    assert.match(String(rule.for), /^\d+[smh]$/, `${name} has a for duration`);
    assert.ok(['critical', 'warning'].includes(String(asRecord(rule.labels, `${name}.labels`).severity)), `${name} has a severity`);
    const annotations = asRecord(rule.annotations, `${name}.annotations`);
    assert.ok(asString(annotations.summary, 'summary').length > 0, `${name} has a summary`);
    assert.ok(asString(annotations.description, 'description').length > 0, `${name} has a description`);
  }
});

test('alert expressions read only contract metrics and up', () => {
  for (const rule of rules) {
    for (const name of seriesNames(asString(rule.expr, 'expr'))) {
      assert.ok(isKnownSeries(name), `${String(rule.alert)} reads ${name}, which is not in the contract`);
    }
  }
});

test('the token endpoint alert matches the result label values the sidecar uses', () => {
  const expr = String(rules.find((r) => r.alert === 'TokenRefreshFailing')?.expr);
  assert.match(expr, /result!="success"/, 'error and timeout both count as failures');
  assert.match(expr, /result="success"/);
});

test('the sidecars are scraped every 5 seconds', () => {
  const config = asRecord(readYaml('docker/prometheus/prometheus.yml'), 'prometheus.yml');
  const job = asArray(config.scrape_configs, 'scrape_configs').map((j) => asRecord(j, 'job')).find((j) => j.job_name === 'token-sidecar');
  assert.ok(job);
  assert.equal(job.scrape_interval ?? asRecord(config.global, 'global').scrape_interval, '5s');
});
