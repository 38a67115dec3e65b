import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { getStatus, runLoad, type LoadResult } from '../../src/demo/load.js';
import { startRedisNodes, stopAllRedisNodes, type RedisNode } from '../helpers/redis-server.js';
import { startMock, startSidecar } from '../helpers/processes.js';

// Several sidecar processes share one token lifecycle through real
// redis-server processes (Redlock quorum), against the mock with 3 s tokens and revoke-on-issue,
// 200 concurrent keep-alive clients spread over the instances.
const LIFETIME_S = 3;
const REFRESH_AT = 0.8;
const CLIENTS = 200;
const bound = (durationS: number) => Math.ceil(durationS / (LIFETIME_S * REFRESH_AT)) + 2;

after(() => stopAllRedisNodes());

async function fleet(instances: number, nodes: RedisNode[], opts: { revokeOnIssue?: boolean } = {}) {
  const mock = await startMock(['--token-lifetime', String(LIFETIME_S), ...(opts.revokeOnIssue === false ? [] : ['--revoke-on-issue'])]);
  after(() => mock.proc.stop('SIGKILL'));
  const sidecars = [];
  for (let i = 0; i < instances; i++) {
    const sidecar = await startSidecar(mock.url, { REFRESH_AT: String(REFRESH_AT), REDIS_URL: nodes.map((n) => n.url).join(',') });
    after(() => sidecar.proc.stop('SIGKILL'));
    sidecars.push(sidecar);
  }
  return { mock, sidecars };
}

function load(sidecars: { url: string }[], durationS: number): Promise<LoadResult> {
  return runLoad({
    clients: CLIENTS,
    durationMs: durationS * 1000,
    step: (i, dispatcher) => getStatus(dispatcher, `${sidecars[i % sidecars.length]!.url}/api/v2/tokens/me`),
  });
}

async function redisUp(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const match = /^token_sidecar_redis_up (\d+)/m.exec(text);
  return Number(match?.[1]);
}

test('4 sidecars on a 3-node Redis quorum serve 200 clients for 20 s with no error and one token per refresh interval', async (t) => {
  const nodes = await startRedisNodes(3);
  const { mock, sidecars } = await fleet(4, nodes);
  const result = await load(sidecars, 20);
  const stats = await mock.stats();
  t.diagnostic(JSON.stringify({ ...result, tokenRequests: stats.tokenRequests.total, bound: bound(20), upstream401: stats.api.byStatus['401'] ?? 0 }));
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.ok(result.requests > CLIENTS * 20);
  assert.ok(stats.tokenRequests.total <= bound(20), `token requests ${stats.tokenRequests.total} > ${bound(20)}`);
});

test('killing one of 3 Redis nodes mid-run costs clients nothing', async (t) => {
  const nodes = await startRedisNodes(3);
  const { mock, sidecars } = await fleet(4, nodes);
  const kill = setTimeout(() => void nodes[1]!.kill(), 7_000);
  const result = await load(sidecars, 20);
  clearTimeout(kill);
  const stats = await mock.stats();
  const up = await Promise.all(sidecars.map((s) => redisUp(s.adminUrl)));
  t.diagnostic(JSON.stringify({ ...result, tokenRequests: stats.tokenRequests.total, redisUp: up }));
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.deepEqual(up, [1, 1, 1, 1], 'a quorum (2 of 3) is still up');
  assert.ok(stats.tokenRequests.total <= bound(20), `token requests ${stats.tokenRequests.total} > ${bound(20)}`);
});

test('Redis killed mid-run and restarted: clients see no error and redis_up returns to 1', async (t) => {
  // "Every node" of a one-node store: with 3 nodes, one restarted node is not a quorum.
  const nodes = await startRedisNodes(1);
  // Without the store, each instance fetches its own token. Genesys keeps older tokens valid
  // (docs/genesys.md §3), so that works; an IdP that revokes older tokens on issue would make the
  // instances revoke each other's tokens until the store is back (see README, "Limits").
  const { mock, sidecars } = await fleet(4, nodes, { revokeOnIssue: false });
  const samples: number[][] = [];
  const kill = setTimeout(() => void nodes[0]!.kill(), 5_000);
  const sample = setTimeout(async () => samples.push(await Promise.all(sidecars.map((s) => redisUp(s.adminUrl)))), 8_000);
  const restart = setTimeout(() => void nodes[0]!.restart(), 11_000);
  const result = await load(sidecars, 20);
  clearTimeout(kill);
  clearTimeout(sample);
  clearTimeout(restart);
  const up = await Promise.all(sidecars.map((s) => redisUp(s.adminUrl)));
  const stats = await mock.stats();
  t.diagnostic(JSON.stringify({ ...result, tokenRequests: stats.tokenRequests.total, redisUpWhileDown: samples[0], redisUpAfter: up }));
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.deepEqual(samples[0], [0, 0, 0, 0], 'redis_up is 0 while Redis is down');
  assert.deepEqual(up, [1, 1, 1, 1], 'redis_up is back to 1');
});

test('a refresher frozen with SIGSTOP while holding the lock cannot replace the newer token when it resumes', async (t) => {
  const nodes = await startRedisNodes(3);
  // Slow token endpoint so the frozen instance is stopped mid-fetch, holding the lock (TTL = 3 s + 5 s).
  const mock = await startMock(['--token-lifetime', '600', '--token-latency', '1500']);
  after(() => mock.proc.stop('SIGKILL'));
  const env = { REDIS_URL: nodes.map((n) => n.url).join(','), TOKEN_TIMEOUT_MS: '3000' };
  const frozen = await startSidecar(mock.url, env);
  after(() => frozen.proc.stop('SIGKILL'));
  const other = await startSidecar(mock.url, env);
  after(() => other.proc.stop('SIGKILL'));
  const generationOf = async (adminUrl: string) =>
    ((await (await fetch(`${adminUrl}/token`)).json()) as { profiles: { slots: { token: { generation: number } | null }[] }[] }).profiles[0]!.slots[0]!.token?.generation;

  const start = (await generationOf(other.adminUrl))!;
  const forced = fetch(`${frozen.adminUrl}/token/refresh`, { method: 'POST' }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 300));
  frozen.proc.child.kill('SIGSTOP');
  // The other instance forces a refresh too: it waits out the frozen holder's lock, then fetches.
  const otherRefresh = await fetch(`${other.adminUrl}/token/refresh`, { method: 'POST' });
  assert.equal(otherRefresh.status, 200);
  const newer = (await generationOf(other.adminUrl))!;
  assert.ok(newer > start + 1, `the other instance's token (generation ${newer}) is newer than the frozen one's`);

  frozen.proc.child.kill('SIGCONT');
  await forced;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const afterResume = { frozen: await generationOf(frozen.adminUrl), other: await generationOf(other.adminUrl) };
  t.diagnostic(JSON.stringify({ start, newer, afterResume }));
  assert.equal(afterResume.other, newer, 'the newer token stays');
  assert.equal(afterResume.frozen, newer, 'the resumed instance adopts the newer token');
  const through = await fetch(`${frozen.url}/api/v2/tokens/me`);
  assert.equal(through.status, 200);
});
