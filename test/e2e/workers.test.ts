import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { getStatus, runLoad } from '../../src/demo/load.js';
import { startMock, startSidecar } from '../helpers/processes.js';
import { API_LATENCY_ARGS } from '../helpers/api-latency.js';

// WORKERS > 1 without Redis: the workers share one token lifecycle through the primary's in-memory
// store, like instances sharing Redis; the primary's admin port speaks for all of them.
const LIFETIME_S = 4;
/**
 * 4 s tokens refreshed at 0.6 of their lifetime: a rotation every 2.4 s as with 4 s tokens at the
 * default 0.8 (so a request is no likelier to see its token revoked twice under revoke-on-issue), but
 * about a second, not 0.3 s, for a CPU-starved 2-core CI machine to finish a coordinated refresh
 * before the held token stops being fresh.
 */
const REFRESH_AT = 0.6;
// Three rotations under load, as the single-instance run.
const DURATION_S = 8;

test('two workers on the in-memory store share one token lifecycle under 200 clients with no error', async (t) => {
  const mock = await startMock(['--token-lifetime', String(LIFETIME_S), '--revoke-on-issue', ...API_LATENCY_ARGS]);
  after(() => mock.proc.stop('SIGKILL'));
  const sidecar = await startSidecar(mock.url, { WORKERS: '2', REFRESH_AT: String(REFRESH_AT) });
  after(() => sidecar.proc.stop('SIGKILL'));

  const before = (await mock.stats()).tokenRequests.total;
  const result = await runLoad({
    clients: 200,
    durationMs: DURATION_S * 1000,
    step: (_i, dispatcher) => getStatus(dispatcher, `${sidecar.url}/api/v2/tokens/me`),
  });
  // Token requests during the run (not those of start-up), at most one per refresh interval plus the edges.
  const tokenRequests = (await mock.stats()).tokenRequests.total - before;
  const bound = Math.ceil(result.durationMs / 1000 / (LIFETIME_S * REFRESH_AT)) + 2;
  t.diagnostic(JSON.stringify({ ...result, tokenRequests, bound }));
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.ok(tokenRequests <= bound, `token requests ${tokenRequests} > ${bound}`);

  const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
  const proxied = Number(/^token_sidecar_upstream_responses_total\{code="200"\} (\d+)/m.exec(metrics)?.[1]);
  assert.ok(proxied >= result.requests, `aggregated metrics count every worker's requests (${proxied} >= ${result.requests})`);
  const token = (await (await fetch(`${sidecar.adminUrl}/token`)).json()) as { workers: unknown[] };
  assert.equal(token.workers.length, 2);

  assert.equal(await sidecar.proc.stop('SIGTERM'), 0, 'the primary drains its workers and exits 0');
});
