import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { Agent, request } from 'undici';
import { waitFor } from '../../src/harness/wait-for.js';
import { RedisNode, stopAllRedisNodes } from '../helpers/redis-server.js';
import { startMock, startSidecar } from '../helpers/processes.js';

// The run's brakes across real sidecar processes sharing one redis-server, against the mock: the
// request cap, the fleet's halt switch and the test window. Every request goes to 127.0.0.1 and each
// load is bounded in count.

after(() => stopAllRedisNodes());

const agent = new Agent({ connections: 20 });
after(() => agent.close());

async function get(url: string): Promise<{ status: number; code?: string }> {
  const response = await request(`${url}/api/v2/tokens/me`, { dispatcher: agent });
  const body = (await response.body.json()) as { error?: string };
  return { status: response.statusCode, code: body.error };
}

async function post(adminUrl: string, path: string): Promise<number> {
  const response = await request(`${adminUrl}${path}`, { method: 'POST', dispatcher: agent });
  await response.body.dump();
  return response.statusCode;
}

async function fleet(count: number, env: Record<string, string>) {
  const node = await RedisNode.start();
  const mock = await startMock();
  after(() => mock.proc.stop('SIGKILL'));
  const sidecars = await Promise.all(
    Array.from({ length: count }, async () => {
      const sidecar = await startSidecar(mock.url, { REDIS_URL: node.url, TOKEN_POOL_SIZE: '1', ...env });
      after(() => sidecar.proc.stop('SIGKILL'));
      return sidecar;
    }),
  );
  return { mock, sidecars, apiRequests: async () => (await mock.stats()).api.total };
}

test('MAX_REQUESTS=1000 across three instances under load: the mock sees at most 1,000, and the rest get sidecar_request_cap', async (t) => {
  const { sidecars, apiRequests } = await fleet(3, { MAX_REQUESTS: '1000' });
  const TOTAL = 1_500;
  const CONCURRENCY = 30;
  const statuses = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < TOTAL; i = next++) {
        const { status, code } = await get(sidecars[i % sidecars.length]!.url);
        const key = code === undefined ? String(status) : `${status} ${code}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
    }),
  );
  const seen = await apiRequests();
  const ok = statuses.get('200') ?? 0;
  t.diagnostic(`the mock saw ${seen}; answers ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok(seen <= 1_000, `the mock saw ${seen}`);
  assert.equal(ok, seen, `every request the mock saw was answered 200: ${JSON.stringify([...statuses])}`);
  assert.equal(statuses.get('429 sidecar_request_cap'), TOTAL - ok, JSON.stringify([...statuses]));
  // Blocks an instance reserved but did not use stay counted: at most a block per instance.
  assert.ok(ok >= 1_000 - 3 * 100, `${ok} of 1,000 went through`);
  const metrics = await (await fetch(`${sidecars[0]!.adminUrl}/metrics`)).text();
  assert.match(metrics, /^token_sidecar_refusals_total\{reason="request_cap"\} [1-9]/m);
});

test('POST /admin/halt on one instance stops all three within one second, and /admin/resume on another restores them', async (t) => {
  const { sidecars, apiRequests } = await fleet(3, {});
  for (const sidecar of sidecars) assert.equal((await get(sidecar.url)).status, 200);

  const haltedAt = performance.now();
  assert.equal(await post(sidecars[0]!.adminUrl, '/admin/halt'), 200);
  const stoppedAfter: number[] = [];
  await Promise.all(
    sidecars.map(async (sidecar) => {
      await waitFor(async () => (await get(sidecar.url)).code === 'sidecar_halted', { timeoutMs: 5_000, intervalMs: 20, what: `${sidecar.url} halted` });
      stoppedAfter.push(performance.now() - haltedAt);
    }),
  );
  t.diagnostic(`instances refused ${stoppedAfter.map((ms) => ms.toFixed(0)).join(', ')} ms after the halt was answered`);
  assert.ok(Math.max(...stoppedAfter) <= 1_000, `every instance refused within ${Math.max(...stoppedAfter).toFixed(0)} ms`);

  const seen = await apiRequests();
  for (let i = 0; i < 30; i++) {
    const answer = await get(sidecars[i % 3]!.url);
    assert.deepEqual(answer, { status: 503, code: 'sidecar_halted' });
  }
  assert.equal(await apiRequests(), seen, 'no request reached the mock while halted');
  const status = (await (await fetch(`${sidecars[2]!.adminUrl}/admin/brakes`)).json()) as { halted: boolean };
  assert.equal(status.halted, true);

  assert.equal(await post(sidecars[1]!.adminUrl, '/admin/resume'), 200);
  await Promise.all(
    sidecars.map((sidecar) => waitFor(async () => (await get(sidecar.url)).status === 200, { timeoutMs: 5_000, intervalMs: 20, what: `${sidecar.url} resumed` })),
  );
});

test('outside TEST_WINDOW every request is refused naming the window, and the mock sees none', async () => {
  // A window of one hour starting two hours from now (UTC), so now is outside it.
  const now = new Date();
  const hour = (h: number) => String((now.getUTCHours() + h) % 24).padStart(2, '0');
  const window = `${hour(2)}:00-${hour(3)}:00 UTC`;
  const { sidecars, apiRequests } = await fleet(1, { TEST_WINDOW: window });
  for (let i = 0; i < 50; i++) {
    const response = await request(`${sidecars[0]!.url}/api/v2/tokens/me`, { dispatcher: agent });
    const body = (await response.body.json()) as { error: string; message: string };
    assert.equal(response.statusCode, 403);
    assert.equal(body.error, 'sidecar_outside_test_window');
    assert.ok(body.message.includes(window), body.message);
  }
  assert.equal(await apiRequests(), 0);
});
