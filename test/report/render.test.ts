import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parseGate } from '../../src/report/gates.js';
import { markOf } from '../../src/report/mark.js';
import { parseExposition } from '../../src/report/prom-text.js';
import { renderJson } from '../../src/report/render-json.js';
import { renderJunit } from '../../src/report/render-junit.js';
import { renderTable } from '../../src/report/render-table.js';
import { buildReport } from '../../src/report/report.js';
import type { InstanceScrape } from '../../src/report/scrape.js';

// The three renderers on reports the end-to-end test does not make: no gates, an instance missing
// from the mark (a mixed window), an instance without the added-latency histogram next to one with it.
const dir = mkdtempSync(join(tmpdir(), 'report-render-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const scrape = (instanceId: string, text: string): InstanceScrape => ({ admin: `http://127.0.0.1:${instanceId}`, instanceId, exposition: parseExposition(text), token: {}, at: 0 });
const WITH_ADDED = `# TYPE token_sidecar_upstream_responses_total counter
token_sidecar_upstream_responses_total{code="200"} 10
# TYPE token_sidecar_added_latency_seconds histogram
token_sidecar_added_latency_seconds_bucket{le="0.001"} 9
token_sidecar_added_latency_seconds_bucket{le="0.01"} 10
token_sidecar_added_latency_seconds_bucket{le="+Inf"} 10
token_sidecar_added_latency_seconds_sum 0.006
token_sidecar_added_latency_seconds_count 10
`;
const WITHOUT_ADDED = `# TYPE token_sidecar_upstream_responses_total counter
token_sidecar_upstream_responses_total{code="200"} 5
token_sidecar_upstream_responses_total{code="503"} 1
`;
const scrapes = [scrape('9001', WITH_ADDED), scrape('9002', WITHOUT_ADDED)];
const mark = markOf([scrape('9001', WITH_ADDED.replace('{code="200"} 10', '{code="200"} 4'))], new Date('2026-12-07T10:00:00Z'));
const now = new Date('2026-12-07T10:05:00Z');

function xmllint(xml: string): void {
  const file = join(dir, `r${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  for (const xsd of ['test/fixtures/junit-ant.xsd', 'test/fixtures/junit-jenkins.xsd']) {
    const run = spawnSync('xmllint', ['--noout', '--schema', xsd, file], { encoding: 'utf8' });
    assert.equal(run.error, undefined, 'xmllint is needed (Debian package libxml2-utils)');
    assert.equal(run.status, 0, `${xsd}: ${run.stderr}`);
  }
}

describe('report renderers', () => {
  it('a report without gates is a valid JUnit file with an empty suite', () => {
    const report = buildReport(scrapes, undefined, [], now);
    assert.equal(report.passed, true);
    const xml = renderJunit(report, 0.25);
    assert.match(xml, /tests="0" failures="0"/);
    assert.doesNotMatch(xml, /<testcase/);
    xmllint(xml);
  });

  it('an instance not in the mark makes a mixed window, counted from its start, and says so', () => {
    const report = buildReport(scrapes, mark, [parseGate('upstream_5xx>0')], now);
    assert.equal(report.window.since, 'mixed');
    assert.deepEqual(report.instances.map((i) => i.since), ['mark', 'start']);
    assert.equal(report.total.upstream.responses, 6 + 6);
    assert.match(renderTable(report), /instances not in the mark: since their start/);
    xmllint(renderJunit(report, 1));
  });

  it('added latency is n/a in the total when one instance lacks the histogram, and read where it has it', () => {
    const report = buildReport(scrapes, undefined, [parseGate('added_p99_ms>5')], now);
    assert.equal(report.total.addedLatency, null);
    assert.equal(report.instances[0]!.figures.addedLatency?.p50Ms, (0.5 * 10 / 9) * 1);
    assert.equal(report.instances[1]!.figures.addedLatency, null);
    assert.equal(report.gates[0]!.held, false);
    assert.match(renderTable(report), /added latency p50 \/ p99 ms\s+n\/a\s+0\.56 \/ 9\.1\s+n\/a/);
  });

  it('every one of these reports is valid against docs/report.schema.json', () => {
    const ajv = new Ajv2020.default({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync('docs/report.schema.json', 'utf8')) as object);
    for (const report of [buildReport(scrapes, undefined, [], now), buildReport(scrapes, mark, [parseGate('added_p99_ms>5'), parseGate('client_401>0')], now)]) {
      assert.ok(validate(JSON.parse(renderJson(report))), ajv.errorsText(validate.errors));
    }
  });
});
