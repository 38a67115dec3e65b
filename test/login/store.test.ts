import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { waitFor } from '../../src/harness/wait-for.js';
import { callbackPort, loginAs, startLogin } from '../helpers/login.js';
import { startMock, startSidecar } from '../helpers/processes.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';

// A running sidecar whose refresh chain is broken (its refresh token revoked or already spent) is
// repaired by `login` into the shared store, without a restart: login's record has a newer generation
// than anything the sidecar holds or fetches, so it wins the store's compare-and-set; the sidecar
// adopts the published access token, and its next refresh rotates login's refresh token.
after(() => stopAllRedisNodes());

interface SlotView { state: string; lastError: string | null; token: { generation: number; fetchedBy: string } | null }

async function slot(adminUrl: string): Promise<SlotView> {
  const body = (await (await fetch(`${adminUrl}/token`)).json()) as { profiles: Array<{ slots: SlotView[] }> };
  return body.profiles[0]!.slots[0]!;
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  let value: T | undefined;
  await waitFor(async () => (value = await probe()) !== undefined, { what, timeoutMs, intervalMs: 50 });
  return value!;
}

test('login into the store repairs a running sidecar whose refresh chain is broken, without a restart', async () => {
  const [node] = await startRedisNodes(1);
  const { port, redirectUris } = await callbackPort();
  const mock = await startMock([...redirectUris, '--token-lifetime', '3']);
  after(() => mock.proc.stop('SIGKILL'));
  const shared = { OAUTH_GRANT: 'refresh_token', REDIS_URL: node!.url };
  const sidecar = await startSidecar(mock.url, { ...shared, OAUTH_REFRESH_TOKEN: 'revoked-refresh-token' }, { waitReady: false });
  after(() => sidecar.proc.stop('SIGKILL'));

  await until('the sidecar to fail with invalid_grant', async () => ((await slot(sidecar.adminUrl)).lastError?.includes('invalid_grant') ? true : undefined));
  assert.equal((await fetch(`${sidecar.url}/api/v2/users/me`)).status, 503);

  const run = startLogin(mock.url, port, [], shared);
  after(() => run.proc.stop('SIGKILL'));
  assert.equal(await loginAs(run, 'bob'), 0, run.proc.output());
  const generation = Number(/stored in the shared store as generation (\d+)/.exec(run.stdout())?.[1]);
  assert.ok(generation >= 1, run.stdout());

  // Adopted without a restart: the same process now answers as Bob.
  const me = await until('the sidecar to answer /users/me', async () => {
    const response = await fetch(`${sidecar.url}/api/v2/users/me`);
    return response.status === 200 ? ((await response.json()) as { name: string }) : (await response.arrayBuffer(), undefined);
  });
  assert.equal(me.name, 'Bob');

  // A sidecar that was not listening when login published (here: started after it, on the same spent
  // seed) finds login's record in the store at its first attempt.
  const late = await startSidecar(mock.url, { ...shared, OAUTH_REFRESH_TOKEN: 'revoked-refresh-token' });
  after(() => late.proc.stop('SIGKILL'));
  assert.equal(((await (await fetch(`${late.url}/api/v2/users/me`)).json()) as { name: string }).name, 'Bob');

  // Its own refreshes now rotate login's refresh token: twice, to show the chain goes on.
  const refreshed = await until('two refreshes by the sidecar after the login', async () => {
    const view = await slot(sidecar.adminUrl);
    return view.token && view.token.generation >= generation + 2 && !view.token.fetchedBy.startsWith('login@') ? view : undefined;
  });
  assert.equal(refreshed.state, 'valid');
  for (const instance of [sidecar, late]) {
    const again = (await (await fetch(`${instance.url}/api/v2/users/me`)).json()) as { name: string };
    assert.equal(again.name, 'Bob');
  }
  const stats = (await mock.stats()) as unknown as { refreshTokensReused: number };
  assert.equal(stats.refreshTokensReused, 0);
});
