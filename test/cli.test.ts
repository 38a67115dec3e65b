import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { startCli } from './helpers/processes.js';

// README "Settings" (its last line): exit codes 0 (clean stop), 2 (bad usage or configuration, every problem at
// once), 1 (anything else); --help and --version.

async function run(args: string[], env: Record<string, string> = {}) {
  const proc = startCli(args, env);
  return { code: await proc.exited, output: proc.output() };
}

test('--version prints the package version and exits 0', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.deepEqual(await run(['--version']), { code: 0, output: `${version}\n` });
});

test('--help lists every setting with its env name and exits 0', async () => {
  const { code, output } = await run(['--help']);
  assert.equal(code, 0);
  for (const env of ['GENESYSCLOUD_OAUTHCLIENT_ID', 'REDIS_URL', 'TOKEN_POOL_SIZE', 'INBOUND_API_KEY', 'SIDECAR_CONFIG']) assert.ok(output.includes(env), env);
});

test('a bad configuration exits 2 naming every problem at once, and no secret', async () => {
  const { code, output } = await run([], { GENESYSCLOUD_OAUTHCLIENT_SECRET: 's3cr3t-value', TOKEN_POOL_SIZE: '0', REFRESH_AT: '2', PORT: 'x' });
  assert.equal(code, 2);
  assert.match(output, /4 problems/);
  for (const name of ['GENESYSCLOUD_OAUTHCLIENT_ID', 'TOKEN_POOL_SIZE', 'REFRESH_AT', 'PORT']) assert.ok(output.includes(name), name);
  assert.ok(!output.includes('s3cr3t-value'));
});

test('bad mock settings and an unknown command exit 2', async () => {
  const mock = await run(['mock', '--token-lifetime', 'soon']);
  assert.equal(mock.code, 2);
  assert.match(mock.output, /--token-lifetime/);
  const unknown = await run(['serv']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.output, /unknown command "serv"/);
});
