import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, test } from 'node:test';
import { request } from 'undici';
import { freePort, startCli, startMock, startSidecar } from '../helpers/processes.js';

// First contact with `serve` from outside: a port already taken is a setting to change (exit 2,
// named), and a stopped run leaves one summary line in the log.

const credentials = { GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client', GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret' };

/** Holds a loopback port, as another program would. */
async function occupiedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

for (const [setting, env, flag, workers] of [
  ['PORT', 'PORT', '--port', '1'],
  ['ADMIN_PORT', 'ADMIN_PORT', '--admin-port', '1'],
  ['PORT', 'PORT', '--port', '2'],
] as const) {
  test(`a ${setting} already in use stops the start (WORKERS=${workers}) with exit 2, naming ${env} (${flag}), without a stack trace`, async () => {
    const mock = await startMock();
    after(() => mock.proc.stop());
    const taken = await occupiedPort();
    const other = await freePort();
    const proc = startCli([], {
      ...credentials,
      UPSTREAM_URL: mock.url,
      TOKEN_URL: `${mock.url}/oauth/token`,
      LOG_LEVEL: 'warn',
      WORKERS: workers,
      PORT: String(setting === 'PORT' ? taken : other),
      ADMIN_PORT: String(setting === 'ADMIN_PORT' ? taken : other),
    });
    assert.equal(await proc.exited, 2, proc.output());
    const output = proc.output();
    assert.match(output, new RegExp(`${env} \\(${flag}\\): 127\\.0\\.0\\.1:${taken} is already in use by another process`));
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  });
}

test('on SIGTERM the log ends with one summary of the run: requests by status, replays, token requests, refusals', async () => {
  const mock = await startMock();
  after(() => mock.proc.stop());
  const sidecar = await startSidecar(mock.url, { LOG_LEVEL: 'info', TOKEN_POOL_SIZE: '1' });
  const get = async (path: string, method: 'GET' | 'DELETE' = 'GET') => {
    const response = await request(`${sidecar.url}${path}`, { method });
    await response.body.dump();
    return response.statusCode;
  };
  for (let i = 0; i < 10; i++) assert.equal(await get('/api/v2/tokens/me'), 200);
  assert.equal(await get('/api/v2/tokens/me', 'DELETE'), 204); // revokes the token: the next request is replayed
  assert.equal(await get('/api/v2/tokens/me'), 200);
  assert.equal(await get('/api/v2/no/such/thing'), 404);
  assert.equal(await sidecar.proc.stop('SIGTERM'), 0);
  const lines = sidecar.proc.output().split('\n').filter((line) => line.includes('run summary'));
  assert.equal(lines.length, 1, sidecar.proc.output());
  const entry = JSON.parse(lines[0]!) as { msg: string; summary: { requests: Record<string, number>; replays: Record<string, number>; tokenRequests: Record<string, number> } };
  // 10 + the replayed request's 401 and 200 + the 404; the DELETE's 204.
  assert.deepEqual(entry.summary.requests, { 200: 11, 204: 1, 401: 1, 404: 1 });
  assert.deepEqual(entry.summary.replays, { success: 1 });
  assert.deepEqual(entry.summary.tokenRequests, { success: 2 });
  assert.match(entry.msg, /^run summary: 14 requests upstream \(200: 11, 204: 1, 401: 1, 404: 1\); 1 replays after a 401 \(success: 1\); 0 after a 429; 2 token requests \(success: 2\); 0 refused by a brake$/);
});
