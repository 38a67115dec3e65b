import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runMock } from '../../src/mock/main.js';
import { MockUsageError } from '../../src/mock/options.js';
import { postToken, type TokenAnswer } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/mock/main.ts', import.meta.url));

/** Runs runMock(argv, process.env) in a child process, the way `token-sidecar mock` does. */
function spawnMock(argv: string[]) {
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.runMock(process.argv.slice(1), process.env))`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

test('the mock command prints its address, serves, and exits 0 on SIGTERM', async () => {
  const child = spawnMock(['--port', '0', '--token-lifetime', '5']);
  const exited = once(child, 'exit');
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout! }), 'line'),
    exited.then(([code]) => assert.fail(`mock exited with ${code} before printing its address`)),
  ])) as [string];
  const match = /^mock upstream listening on (http:\/\/127\.0\.0\.1:\d+) \(token endpoint (\S+)\)$/.exec(line);
  assert.ok(match, line);
  const [, base, tokenUrl] = match;
  assert.equal(tokenUrl, `${base}/oauth/token`);
  const body = (await (await postToken(base!, { grant_type: 'client_credentials' })).json()) as TokenAnswer;
  assert.equal(body.expires_in, 5);
  child.kill('SIGTERM');
  assert.deepEqual(await exited, [0, null]);
});

test('the mock command prints usage for --help and exits 0', async () => {
  const child = spawnMock(['--help']);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  assert.deepEqual(await once(child, 'exit'), [0, null]);
  assert.match(output, /^Usage: token-sidecar mock/);
});

test('runMock rejects bad settings with a MockUsageError before listening', async () => {
  await assert.rejects(runMock(['--port', 'x'], {}), (error: unknown) => {
    assert.ok(error instanceof MockUsageError);
    assert.deepEqual(error.problems, ['--port: must be a port number from 0 to 65535, got "x"']);
    return true;
  });
});
