import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../../src/harness/wait-for.js';
import { startMock, startSidecar } from '../helpers/processes.js';
import { fetchText, parseMetrics, PROMETHEUS_INSTALL_HINT, promtoolCheckMetrics, requireBinary, requireValue, valueOf, type Sample } from './helpers.js';

/** Resolves once the wall clock has moved past the current millisecond. */
const nextMillisecond = (start = Date.now()) => waitFor(() => Date.now() > start, { intervalMs: 1 });

// README "Prometheus and Grafana" (its metrics table): every metric is exposed by a running sidecar (the built CLI), moves as the
// traffic says it should, and the exposition passes the real `promtool check metrics`.
//
// One scenario, scraped three times:
//   A: after three plain requests;
//   B: after the shared token was revoked upstream and the next request met a 401 and was replayed;
//   C: after a forced refresh (POST /token/refresh) and one more request.

const PER_TOKEN_LIMIT = 1000;

let scrapeA: Sample[];
let scrapeB: Sample[];
let scrapeC: Sample[];
let textC: string;
let upstreamCalls = 0;

async function scrape(adminUrl: string): Promise<{ text: string; samples: Sample[] }> {
  const { status, text } = await fetchText(`${adminUrl}/metrics`);
  assert.equal(status, 200);
  return { text, samples: parseMetrics(text) };
}

before(async () => {
  const mock = await startMock(['--per-token-limit', String(PER_TOKEN_LIMIT), '--per-token-window', '60000', '--budget-headers', 'inin']);
  // An auto pool capped at one slot: the figures below are one token's (uncapped, it would grow under the limit).
  const sidecar = await startSidecar(mock.url, { TOKEN_POOL_MAX: '1' });
  after(async () => {
    await sidecar.proc.stop();
    await mock.proc.stop();
  });
  const call = async (path: string, init?: RequestInit) => {
    const { status } = await fetchText(`${sidecar.url}${path}`, init);
    return status;
  };

  for (let i = 0; i < 3; i++) assert.equal(await call('/api/v2/tokens/me'), 200);
  upstreamCalls += 3;
  scrapeA = (await scrape(sidecar.adminUrl)).samples;

  // Revoke the shared token behind the sidecar's back: the next request meets a 401 and is replayed.
  assert.equal(await call('/api/v2/tokens/me', { method: 'DELETE' }), 204);
  await nextMillisecond(); // expiry is measured from the token request's start: keep the next one later
  assert.equal(await call('/api/v2/tokens/me'), 200);
  upstreamCalls += 3; // the DELETE, the 401, the replay
  scrapeB = (await scrape(sidecar.adminUrl)).samples;

  await nextMillisecond();
  const refresh = await fetchText(`${sidecar.adminUrl}/token/refresh`, { method: 'POST' });
  assert.equal(refresh.status, 200, refresh.text);
  assert.equal(await call('/api/v2/tokens/me'), 200);
  upstreamCalls += 1;
  // Answered by the sidecar itself, never sent upstream.
  assert.equal(await call('/api/v2/tokens/me', { headers: { 'x-token-profile': 'nobody' } }), 400);
  const c = await scrape(sidecar.adminUrl);
  scrapeC = c.samples;
  textC = c.text;
});

test('promtool check metrics reports no problems on a scrape taken after real traffic', () => {
  const { status, output } = promtoolCheckMetrics(textC);
  assert.equal(output, '', `promtool reported problems:\n${output}`);
  assert.equal(status, 0);
});

test('a missing promtool fails the check with a message saying to install the prometheus package', () => {
  assert.throws(() => requireBinary('promtool', '/nonexistent-dir'), (err: Error) => {
    assert.match(err.message, /promtool not found/);
    assert.ok(err.message.includes(PROMETHEUS_INSTALL_HINT));
    assert.match(err.message, /apt-get install -y prometheus/);
    return true;
  });
});

test('every metric of the contract is exposed, prefixed token_sidecar_', () => {
  const names = new Set(scrapeC.map((s) => s.name));
  for (const name of [
    'token_sidecar_token_requests_total',
    'token_sidecar_token_request_duration_seconds_count',
    'token_sidecar_token_expiry_timestamp_seconds',
    'token_sidecar_lock_wait_seconds_count',
    'token_sidecar_lock_acquisitions_total',
    'token_sidecar_token_invalidations_total',
    'token_sidecar_replays_total',
    'token_sidecar_upstream_responses_total',
    'token_sidecar_upstream_request_duration_seconds_count',
    'token_sidecar_rate_limit_remaining',
    'token_sidecar_redis_up',
    // prom-client's defaults
    'process_cpu_seconds_total',
    'nodejs_eventloop_lag_seconds',
  ]) {
    assert.ok(names.has(name), `${name} missing from /metrics`);
  }
});

test('a 401 replay counts a successful replay, an upstream_401 invalidation and one more successful token request', () => {
  const success = { result: 'success' };
  assert.equal(requireValue(scrapeA, 'token_sidecar_replays_total', success), 0);
  assert.equal(requireValue(scrapeB, 'token_sidecar_replays_total', success), 1);
  assert.equal(requireValue(scrapeA, 'token_sidecar_token_invalidations_total', { reason: 'upstream_401' }), 0);
  assert.equal(requireValue(scrapeB, 'token_sidecar_token_invalidations_total', { reason: 'upstream_401' }), 1);
  assert.equal(requireValue(scrapeA, 'token_sidecar_token_requests_total', success), 1);
  assert.equal(requireValue(scrapeB, 'token_sidecar_token_requests_total', success), 2);
  assert.equal(requireValue(scrapeB, 'token_sidecar_upstream_responses_total', { code: '401' }), 1);
});

test('a forced refresh counts one more successful token request and a manual invalidation', () => {
  assert.equal(requireValue(scrapeC, 'token_sidecar_token_requests_total', { result: 'success' }), 3);
  assert.equal(requireValue(scrapeB, 'token_sidecar_token_invalidations_total', { reason: 'manual' }), 0);
  assert.equal(requireValue(scrapeC, 'token_sidecar_token_invalidations_total', { reason: 'manual' }), 1);
});

test("slot 0's expiry timestamp moves forward with each new token and lies about a token lifetime ahead", () => {
  const slot = { slot: '0' };
  const [a, b, c] = [scrapeA, scrapeB, scrapeC].map((s) => requireValue(s, 'token_sidecar_token_expiry_timestamp_seconds', slot));
  assert.ok(b! > a!, `expiry after the 401 replay (${b}) is not later than before (${a})`);
  assert.ok(c! > b!, `expiry after the forced refresh (${c}) is not later than before (${b})`);
  const lifetime = c! - Date.now() / 1000;
  assert.ok(lifetime > 86_000 && lifetime <= 86_400, `expiry is ${lifetime} s ahead, expected the mock's 24 h`);
});

test('upstream answers are counted by status code, one latency observation each', () => {
  assert.equal(requireValue(scrapeA, 'token_sidecar_upstream_responses_total', { code: '200' }), 3);
  assert.equal(requireValue(scrapeC, 'token_sidecar_upstream_responses_total', { code: '200' }), 5);
  assert.equal(requireValue(scrapeC, 'token_sidecar_upstream_responses_total', { code: '204' }), 1);
  assert.equal(requireValue(scrapeC, 'token_sidecar_upstream_responses_total'), upstreamCalls);
  assert.equal(requireValue(scrapeC, 'token_sidecar_upstream_request_duration_seconds_count'), upstreamCalls);
  assert.ok(requireValue(scrapeC, 'token_sidecar_upstream_request_duration_seconds_sum') > 0);
});

test('each token request is timed and each refresh acquires the lock once, with its wait observed', () => {
  assert.equal(requireValue(scrapeC, 'token_sidecar_token_request_duration_seconds_count'), 3);
  assert.equal(requireValue(scrapeC, 'token_sidecar_lock_acquisitions_total', { result: 'acquired' }), 3);
  assert.equal(requireValue(scrapeC, 'token_sidecar_lock_acquisitions_total', { result: 'contended' }), 0);
  assert.equal(requireValue(scrapeC, 'token_sidecar_lock_wait_seconds_count'), 3);
  assert.equal(requireValue(scrapeA, 'token_sidecar_lock_wait_seconds_count'), 1);
});

test("rate_limit_remaining of slot 0 follows the upstream's inin-ratelimit headers", () => {
  const remaining = requireValue(scrapeC, 'token_sidecar_rate_limit_remaining', { slot: '0' });
  // Allowed minus count: each token's window counts its own requests; at most three went out on one.
  assert.ok(remaining >= PER_TOKEN_LIMIT - 3 && remaining < PER_TOKEN_LIMIT, `remaining = ${remaining}`);
});

test("what clients saw is counted by code and origin: the upstream's relayed answers (a replayed 401 as its replay's 200) and the sidecar's own", () => {
  const upstream = { origin: 'upstream' };
  assert.equal(requireValue(scrapeA, 'token_sidecar_client_responses_total', { ...upstream, code: '200' }), 3);
  assert.equal(requireValue(scrapeB, 'token_sidecar_client_responses_total', { ...upstream, code: '200' }), 4);
  assert.equal(valueOf(scrapeB, 'token_sidecar_client_responses_total', { code: '401' }), undefined, 'the 401 was replayed: no client saw it');
  assert.equal(requireValue(scrapeC, 'token_sidecar_client_responses_total', { ...upstream, code: '204' }), 1);
  assert.equal(requireValue(scrapeC, 'token_sidecar_client_responses_total', upstream), 6);
  assert.equal(requireValue(scrapeC, 'token_sidecar_client_responses_total', { origin: 'sidecar', code: '400' }), 1);
  assert.equal(requireValue(scrapeC, 'token_sidecar_client_responses_total', { origin: 'sidecar' }), 1);
});

test('redis_up is 1 while the (in-memory) store answers', () => {
  assert.equal(requireValue(scrapeC, 'token_sidecar_redis_up'), 1);
});

test('token and lock series of a configured profile are exposed at 0 before their first event', () => {
  assert.equal(valueOf(scrapeA, 'token_sidecar_lock_acquisitions_total', { profile: 'default', result: 'failed' }), 0);
  assert.equal(valueOf(scrapeA, 'token_sidecar_token_invalidations_total', { profile: 'default', reason: 'expired' }), 0);
  assert.equal(valueOf(scrapeA, 'token_sidecar_replays_total', { result: 'no_token' }), 0);
});

test('the pool series of the default profile are exposed from the first scrape: an auto pool of one token, its cap, no rate-limited request', () => {
  assert.equal(valueOf(scrapeA, 'token_sidecar_pool_size', { profile: 'default' }), 1);
  assert.equal(valueOf(scrapeA, 'token_sidecar_pool_max', { profile: 'default' }), 1);
  assert.equal(valueOf(scrapeA, 'token_sidecar_pool_size_peak', { profile: 'default' }), 1);
  for (const action of ['replayed', 'passed', 'waited', 'rejected']) {
    assert.equal(valueOf(scrapeA, 'token_sidecar_rate_limited_total', { profile: 'default', action }), 0, action);
  }
});

test("with WORKERS=2 the primary's /metrics merges workers' gauges (expiry, redis_up, rate limit) without summing them, and passes promtool", async () => {
  const mock = await startMock(['--per-token-limit', String(PER_TOKEN_LIMIT), '--per-token-window', '60000', '--budget-headers', 'inin']);
  const sidecar = await startSidecar(mock.url, { WORKERS: '2' });
  try {
    // Round-robin over the workers: both serve requests, so both hold the token and set the gauges.
    for (let i = 0; i < 10; i++) assert.equal((await fetchText(`${sidecar.url}/api/v2/tokens/me`)).status, 200);
    const { text } = await fetchText(`${sidecar.adminUrl}/metrics`);
    const samples = parseMetrics(text);
    assert.equal(requireValue(samples, 'token_sidecar_redis_up'), 1);
    const ahead = requireValue(samples, 'token_sidecar_token_expiry_timestamp_seconds', { slot: '0' }) - Date.now() / 1000;
    assert.ok(ahead > 86_000 && ahead <= 86_400, `expiry is ${ahead} s ahead: workers' timestamps were summed`);
    const remaining = requireValue(samples, 'token_sidecar_rate_limit_remaining', { slot: '0' });
    assert.ok(remaining >= PER_TOKEN_LIMIT - 10 && remaining < PER_TOKEN_LIMIT, `rate_limit_remaining = ${remaining}`);
    assert.equal(requireValue(samples, 'token_sidecar_upstream_responses_total', { code: '200' }), 10);
    const { status, output } = promtoolCheckMetrics(text);
    assert.equal(output, '', `promtool reported problems:\n${output}`);
    assert.equal(status, 0);
  } finally {
    await sidecar.proc.stop();
    await mock.proc.stop();
  }
});
