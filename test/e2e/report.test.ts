import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { getStatus, runLoad, type LoadResult } from '../../src/demo/load.js';
import { waitFor } from '../../src/harness/wait-for.js';
import type { Report } from '../../src/report/report.js';
import { CLI, freePort, startMock, startSidecar, type MockStatsLike, type RunningProcess } from '../helpers/processes.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';

// `token-sidecar report` against real processes: two sidecars on one redis-server, the mock with
// revoke-on-issue and a per-token limit far below the offered load, a bounded closed-loop load.
// The report's totals must be the mock's own counts exactly; its JSON must match its schema and its
// JUnit file the published JUnit schemas (Apache Ant's and Jenkins's, in test/fixtures), checked by
// xmllint.
const LIMIT = 10;
const WINDOW_MS = 10_000;
/** 20 clients, each at most one request per 50 ms for 4 s: at most 1,600 requests, all to 127.0.0.1. */
const LOAD = { clients: 20, intervalMs: 50, durationMs: 4_000 };
/** Published JUnit XML schemas (sources in test/fixtures/README.md). */
const ANT_XSD = 'test/fixtures/junit-ant.xsd';
const JENKINS_XSD = 'test/fixtures/junit-jenkins.xsd';

const dir = mkdtempSync(join(tmpdir(), 'report-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));
after(() => stopAllRedisNodes());
/** Stopped when the file's tests are done (an after() registered inside before() would run at its end). */
const processes: Array<{ stop(signal: NodeJS.Signals): Promise<unknown> }> = [];
after(() => Promise.all(processes.map((proc) => proc.stop('SIGKILL'))));

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `token-sidecar report …` (the built CLI) to its end. */
function report(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'report', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr: stderr + (/unreachable/.test(stderr) ? sidecarsSaid() : '') }));
  });
}

/** Started sidecars, so a report that found one gone can say what it last wrote. */
const sidecarProcs: RunningProcess[] = [];
function sidecarsSaid(): string {
  return sidecarProcs.map((proc, i) => `\n--- sidecar ${i}, last output:\n${proc.output().slice(-3_000)}`).join('');
}

let admins: string;
let mockStats: () => Promise<MockStatsLike>;
let atStart: MockStatsLike;
let atEnd: MockStatsLike;
let afterReports: MockStatsLike;
let load: LoadResult;
let sinceMark: Run;
let sinceStart: Run;
const markFile = join(dir, 'run.mark');
const jsonFile = join(dir, 'report.json');
const junitFile = join(dir, 'report.xml');
const startJson = join(dir, 'since-start.json');

before(async () => {
  const [redis] = await startRedisNodes(1);
  const mock = await startMock(['--revoke-on-issue', '--per-token-limit', String(LIMIT), '--per-token-window', String(WINDOW_MS), '--token-lifetime', '3600']);
  processes.push(mock.proc);
  mockStats = mock.stats;
  const sidecars = await Promise.all(
    [0, 1].map(async () => {
      // Two tokens at most: the load stays far above what they may send, so the upstream answers 429s.
      const sidecar = await startSidecar(mock.url, { REDIS_URL: redis!.url, TOKEN_POOL_MAX: '2' });
      processes.push(sidecar.proc);
      sidecarProcs.push(sidecar.proc);
      return sidecar;
    }),
  );
  admins = sidecars.map((s) => s.adminUrl).join(',');

  const marked = await report('--admin', admins, '--mark', markFile);
  assert.equal(marked.status, 0, marked.stderr);
  atStart = await mockStats();
  load = await runLoad({ ...LOAD, step: (i, dispatcher) => getStatus(dispatcher, `${sidecars[i % 2]!.url}/api/v2/tokens/me`) });
  // The load is over when its clients have their answers; a token request the pool started may still
  // be on its way. Wait until the mock's counts stand still for a second, then read the fleet.
  let previous = await mockStats();
  await waitFor(
    async () => {
      const now = await mockStats();
      const still = JSON.stringify(now) === JSON.stringify(previous);
      previous = now;
      return still;
    },
    { intervalMs: 1_000, timeoutMs: 30_000, what: "the mock's counts to stand still after the load" },
  );
  atEnd = previous;
  sinceMark = await report(
    '--admin', admins, '--since', markFile, '--json', jsonFile, '--junit', junitFile,
    '--fail-on', 'upstream_responses>100', // must fail: the load sent more
    '--fail-on', 'token_requests>1000', // must hold
    '--fail-on', 'client_5xx>0', // must hold: nothing answered 5xx
  );
  sinceStart = await report('--admin', admins, '--json', startJson);
  afterReports = await mockStats();
});

const delta = (key: (s: MockStatsLike) => number) => key(atEnd) - key(atStart);
const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;

test('nothing reached the mock while the reports were read, so the counts below are the run’s', () => {
  assert.deepEqual(afterReports, atEnd);
  assert.ok(load.requests > 100, `${load.requests} requests`);
});

test("the report since the mark has the mock's own counts exactly: requests, upstream 401s and 429s, token requests", (t) => {
  const { total } = readReport(jsonFile);
  const mock = {
    requests: delta((s) => s.api.total),
    upstream401: delta((s) => s.api.byStatus['401'] ?? 0),
    upstream429: delta((s) => s.api.byStatus['429'] ?? 0),
    tokenRequests: delta((s) => s.tokenRequests.total),
  };
  const ours = { requests: total.upstream.responses, upstream401: total.upstream.byCode['401'] ?? 0, upstream429: total.upstream.byCode['429'] ?? 0, tokenRequests: total.tokenRequests.total };
  t.diagnostic(JSON.stringify({ mock, report: ours, load: load.byStatus, replays: total.replays, rateLimited: total.rateLimited, poolSizePeak: total.poolSizePeak }));
  assert.deepEqual(ours, mock);
  assert.ok(mock.upstream401 > 0, 'tokens were revoked under the load: upstream 401s to count');
  assert.ok(mock.upstream429 > 0, 'the per-token limit was met: upstream 429s to count');
  assert.equal(total.upstream.errors, 0);
});

test('the report since start has the mock’s totals since it started', () => {
  assert.equal(sinceStart.status, 0, sinceStart.stderr);
  const { total, window } = readReport(startJson);
  assert.equal(window.since, 'start');
  assert.equal(total.upstream.responses, atEnd.api.total);
  assert.equal(total.upstream.byCode['401'] ?? 0, atEnd.api.byStatus['401'] ?? 0);
  assert.equal(total.upstream.byCode['429'] ?? 0, atEnd.api.byStatus['429'] ?? 0);
  assert.equal(total.tokenRequests.total, atEnd.tokenRequests.total);
});

test('what the clients saw, by code, is what the load generator counted; all of it from the upstream', () => {
  const { total } = readReport(jsonFile);
  assert.deepEqual(total.client.byCode, load.byStatus);
  assert.equal(total.client.sidecar.responses, 0);
  assert.equal(total.client.responses, load.requests);
});

test('a gate that must fail exits 1 and is named on stderr and in the JUnit file; the others hold', () => {
  assert.equal(sinceMark.status, 1, sinceMark.stderr);
  assert.match(sinceMark.stderr, /gate failed: upstream_responses>100: failed, upstream_responses = \d+/);
  assert.doesNotMatch(sinceMark.stderr, /token_requests>1000|client_5xx>0/);
  const { gates, passed } = readReport(jsonFile);
  assert.equal(passed, false);
  assert.deepEqual(gates.map((g) => [g.expression, g.held]), [['upstream_responses>100', false], ['token_requests>1000', true], ['client_5xx>0', true]]);
  const xml = readFileSync(junitFile, 'utf8');
  assert.match(xml, /<testcase name="upstream_responses&gt;100" classname="token-sidecar.report.gates" time="0">\s*<failure type="gate" message="upstream_responses&gt;100: failed/);
  assert.match(xml, /tests="3" failures="1"/);
  assert.match(sinceMark.stdout, /^token-sidecar report: 2 instances, since the mark of /);
});

test('the JUnit file is valid against the Apache Ant and the Jenkins JUnit XML schemas (xmllint)', () => {
  for (const xsd of [ANT_XSD, JENKINS_XSD]) {
    const run = spawnSync('xmllint', ['--noout', '--schema', xsd, junitFile], { encoding: 'utf8' });
    assert.equal(run.error, undefined, "xmllint is needed (Debian package libxml2-utils; .ci/run installs it)");
    assert.equal(run.status, 0, `${xsd}: ${run.stderr}`);
  }
});

test('the JSON is valid against docs/report.schema.json (JSON Schema 2020-12, ajv)', () => {
  // Both are CommonJS modules whose module.exports carries the class or plugin also as `.default`.
  const ajv = new Ajv2020.default({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync('docs/report.schema.json', 'utf8')) as object);
  for (const file of [jsonFile, startJson]) assert.ok(validate(readReport(file)), `${file}: ${ajv.errorsText(validate.errors)}`);
});

test('an admin port that does not answer, an unknown gate metric and a bad expression each exit 2', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const unreachable = await report('--admin', `${admins},${dead}`);
  assert.equal(unreachable.status, 2);
  assert.match(unreachable.stderr, new RegExp(`admin port ${dead} unreachable`));
  const unknown = await report('--admin', admins, '--fail-on', 'client_teapots>0', '--fail-on', 'client_401>');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown metric "client_teapots"/);
  assert.match(unknown.stderr, /--fail-on "client_401>": expected METRIC OP NUMBER/);
});
