import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTRACT_METRICS, asArray, asRecord, contractMetricOf, isKnownSeries, readRepoFile, readYaml } from './contract.js';
import { seriesNames } from './promql.js';

type Obj = Record<string, unknown>;

const dashboard = asRecord(JSON.parse(readRepoFile('docker/grafana/dashboards/token-sidecar.json')), 'dashboard');
const panels = asArray(dashboard.panels, 'panels').map((p) => asRecord(p, 'panel'));
const datasource = asRecord(
  asArray(asRecord(readYaml('docker/grafana/provisioning/datasources/prometheus.yml'), 'datasources file').datasources, 'datasources')[0],
  'datasource',
);
const variables = asArray(asRecord(dashboard.templating, 'templating').list, 'templating.list').map((v) => asRecord(v, 'variable'));

/** Every query of the dashboard: panel targets and query variables. */
function queries(): { where: string; expr: string }[] {
  const fromPanels = panels.flatMap((panel) => asArray(panel.targets ?? [], 'targets').map((t) => ({
    where: `panel "${String(panel.title)}"`,
    expr: String(asRecord(t, 'target').expr),
  })));
  const fromVariables = variables.filter((v) => v.type === 'query').map((v) => ({
    where: `variable $${String(v.name)}`,
    expr: String(typeof v.query === 'string' ? v.query : asRecord(v.query, 'query').query),
  }));
  return [...fromPanels, ...fromVariables];
}

test('the dashboard is Grafana dashboard JSON of a current schema', () => {
  assert.equal(typeof dashboard.uid, 'string');
  assert.equal(typeof dashboard.title, 'string');
  assert.ok(Number(dashboard.schemaVersion) >= 36 && Number(dashboard.schemaVersion) <= 41, `schemaVersion ${String(dashboard.schemaVersion)}`);
  assert.ok(panels.length > 0);
});

test('panels have unique ids and sit on the 24-column grid without overlapping', () => {
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  const boxes = panels.map((p) => ({ title: String(p.title), ...(asRecord(p.gridPos, `${String(p.title)}.gridPos`) as { x: number; y: number; w: number; h: number }) }));
  for (const box of boxes) assert.ok(box.x >= 0 && box.w > 0 && box.x + box.w <= 24 && box.h > 0, `${box.title} fits the grid`);
  for (const [i, a] of boxes.entries()) {
    for (const b of boxes.slice(i + 1)) {
      const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      assert.ok(!overlap, `${a.title} and ${b.title} do not overlap`);
    }
  }
});

test('every query uses the provisioned Prometheus datasource', () => {
  assert.equal(datasource.type, 'prometheus');
  const uses = [
    ...panels.filter((p) => p.type !== 'row').flatMap((p) => [p.datasource, ...asArray(p.targets, 'targets').map((t) => asRecord(t, 'target').datasource)]),
    ...variables.filter((v) => v.type === 'query').map((v) => v.datasource),
  ];
  for (const use of uses) assert.deepEqual(use, { type: 'prometheus', uid: datasource.uid });
});

test('the datasource points at the compose Prometheus with its scrape interval', () => {
  assert.equal(datasource.url, 'http://prometheus:9090');
  const global = asRecord(asRecord(readYaml('docker/prometheus/prometheus.yml'), 'prometheus.yml').global, 'global');
  assert.equal(asRecord(datasource.jsonData, 'jsonData').timeInterval, global.scrape_interval);
});

test('every query reads only contract metrics or standard ones', () => {
  for (const { where, expr } of queries()) {
    const names = seriesNames(expr);
    assert.ok(names.length > 0, `${where} reads a metric: ${expr}`);
    for (const name of names) assert.ok(isKnownSeries(name), `${where} reads ${name}, which is not in the contract`);
  }
});

test('every contract metric is on the dashboard', () => {
  const shown = new Set(queries().flatMap(({ expr }) => seriesNames(expr)).map(contractMetricOf).filter((m) => m !== undefined));
  for (const metric of CONTRACT_METRICS) assert.ok(shown.has(metric), `${metric} has a panel`);
});

test('every panel query is filtered by the instance variable', () => {
  for (const panel of panels.filter((p) => p.type !== 'row')) {
    for (const target of asArray(panel.targets, 'targets').map((t) => asRecord(t, 'target') as Obj)) {
      assert.match(String(target.expr), /instance=~"\$instance"/, `panel "${String(panel.title)}" follows $instance`);
    }
  }
});
