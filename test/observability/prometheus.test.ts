import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startProcess } from '../../src/harness/child-processes.js';
import { waitFor } from '../../src/harness/wait-for.js';
import { freePort, startMock, startSidecar } from '../helpers/processes.js';
import { fetchText, requireBinary } from './helpers.js';

// A real Prometheus (Debian's `prometheus` package, like promtool) scrapes a running sidecar's admin
// port and answers a PromQL query on token_sidecar_token_requests_total.

interface PromQueryResult {
  status: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

async function startPrometheus(target: string): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
  const binary = requireBinary('prometheus');
  const dir = await mkdtemp(join(tmpdir(), 'token-sidecar-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: token-sidecar',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child = startProcess(
    binary,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { name: 'prometheus', env: { HOME: dir }, outputTailBytes: Infinity },
  );
  const stop = async () => {
    await child.stop('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  return { url: `http://127.0.0.1:${port}`, output: child.output, stop };
}

async function query(prometheusUrl: string, promql: string): Promise<PromQueryResult | undefined> {
  try {
    const { status, text } = await fetchText(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    return status === 200 ? (JSON.parse(text) as PromQueryResult) : undefined;
  } catch {
    return undefined; // not listening yet
  }
}

// The test's own timeout only stops a hang: the waits inside bound each step (a process starting,
// the series showing up), and on a starved machine the steps took 16 s together.
test('a real Prometheus scraping the admin port every second can query token_sidecar_token_requests_total', { timeout: 120_000 }, async () => {
  const mock = await startMock();
  const sidecar = await startSidecar(mock.url);
  const prometheus = await startPrometheus(new URL(sidecar.adminUrl).host);
  after(async () => {
    await prometheus.stop();
    await sidecar.proc.stop();
    await mock.proc.stop();
  });
  assert.equal((await fetchText(`${sidecar.url}/api/v2/tokens/me`)).status, 200);

  let answer: PromQueryResult | undefined;
  await waitFor(
    async () => {
      answer = await query(prometheus.url, 'sum(token_sidecar_token_requests_total{job="token-sidecar",result="success"})');
      return Boolean(answer?.data.result.length);
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  ).catch(() => undefined); // the assertion below says what was missing
  assert.ok(answer?.data.result.length, `Prometheus never returned the series (last answer: ${JSON.stringify(answer)})\n${prometheus.output()}`);
  assert.equal(answer!.status, 'success');
  const value = Number(answer!.data.result[0]!.value[1]);
  assert.ok(value >= 1, `token_sidecar_token_requests_total = ${value}`);

  // A scrape can time out (1 s) on a starved machine, and `up` is 0 until the next one: wait for a 1.
  let up: PromQueryResult | undefined;
  await waitFor(async () => (up = await query(prometheus.url, 'up{job="token-sidecar"}'))?.data.result[0]?.value[1] === '1', {
    timeoutMs: 20_000,
    intervalMs: 250,
  }).catch(() => undefined);
  assert.equal(up?.data.result[0]?.value[1], '1', `the scrape target is up (last answer: ${JSON.stringify(up)})`);
});
