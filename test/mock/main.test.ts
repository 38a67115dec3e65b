import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startProcess, type RunningProcess } from '../../src/harness/child-processes.js';
import { waitFor } from '../../src/harness/wait-for.js';
import { runMock } from '../../src/mock/main.js';
import { MockUsageError } from '../../src/mock/options.js';
import { postToken, type TokenAnswer } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/mock/main.ts', import.meta.url));

/** Runs runMock(argv, process.env) in a child process, the way `token-sidecar mock` does. */
function spawnMock(argv: string[]): RunningProcess {
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.runMock(process.argv.slice(1), process.env))`;
  return startProcess(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...argv], { name: 'mock' });
}

test('the mock command prints its address, serves, and exits 0 on SIGTERM', async () => {
  const mock = spawnMock(['--port', '0', '--token-lifetime', '5']);
  await waitFor(() => mock.output().includes('\n'), { what: 'the mock printing its first line', process: mock });
  const line = mock.output().split('\n')[0]!;
  const match = /^mock upstream listening on (http:\/\/127\.0\.0\.1:\d+) \(token endpoint (\S+)\)$/.exec(line);
  assert.ok(match, line);
  const [, base, tokenUrl] = match;
  assert.equal(tokenUrl, `${base}/oauth/token`);
  const body = (await (await postToken(base!, { grant_type: 'client_credentials' })).json()) as TokenAnswer;
  assert.equal(body.expires_in, 5);
  assert.equal(await mock.stop('SIGTERM'), 0, mock.output());
});

test('the mock command prints usage for --help and exits 0', async () => {
  const mock = spawnMock(['--help']);
  assert.equal(await mock.exited, 0, mock.output());
  assert.match(mock.output(), /^Usage: token-sidecar mock/);
});

test('runMock rejects bad settings with a MockUsageError before listening', async () => {
  await assert.rejects(runMock(['--port', 'x'], {}), (error: unknown) => {
    assert.ok(error instanceof MockUsageError);
    assert.deepEqual(error.problems, ['--port: must be a port number from 0 to 65535, got "x"']);
    return true;
  });
});
