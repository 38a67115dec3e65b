import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { startCli } from '../helpers/processes.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';

// `token-sidecar demo` as a user runs it (from dist), shortened: 50 clients, 3 s per side.
const DEMO_ARGS = ['demo', '--duration', '3', '--clients', '50'];

after(stopAllRedisNodes);

interface DemoRun {
  readonly code: number | string;
  readonly output: string;
  /** The two columns of a table row: [without sidecar, through sidecar]. */
  row(label: string): [number, number];
  /** What the demo said about each sidecar it started. */
  readonly sidecars: { pid: number; port: number }[];
}

async function runDemo(args: string[]): Promise<DemoRun> {
  const proc = startCli(args);
  const code = await proc.exited;
  const output = proc.output();
  return {
    code,
    output,
    row(label) {
      const match = new RegExp(`^${label.replace(/[()]/g, '\\$&')}\\s+([\\d,.]+)\\s+([\\d,.]+)\\s*$`, 'm').exec(output);
      assert.ok(match, `no "${label}" row in:\n${output}`);
      return [Number(match[1]!.replaceAll(',', '')), Number(match[2]!.replaceAll(',', ''))];
    },
    sidecars: [...output.matchAll(/sidecar pid (\d+) at http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => ({ pid: Number(m[1]), port: Number(m[2]) })),
  };
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function assertNothingLeftBehind(run: DemoRun): Promise<void> {
  for (const { pid, port } of run.sidecars) {
    assert.equal(processExists(pid), false, `sidecar pid ${pid} still runs after the demo ended`);
    assert.equal(await portAccepts(port), false, `port ${port} still accepts connections after the demo ended`);
  }
}

function assertNaiveCollapsesAndSidecarDoesNot(run: DemoRun): void {
  assert.equal(run.code, 0, run.output);
  const [naive401, sidecar401] = run.row('401s seen by clients');
  const [, sidecarNon2xx] = run.row('non-2xx seen by clients');
  const [naiveTokens, sidecarTokens] = run.row('token requests');
  const [, sidecarRequests] = run.row('requests');
  assert.ok(naive401 > 0, `the naive side should see 401s:\n${run.output}`);
  assert.equal(sidecar401, 0, `the sidecar side should see no 401:\n${run.output}`);
  assert.equal(sidecarNon2xx, 0, `the sidecar side should see no error:\n${run.output}`);
  assert.ok(sidecarRequests > 0, `the sidecar side should have served requests:\n${run.output}`);
  assert.ok(sidecarTokens < naiveTokens, `the sidecar side should need fewer tokens:\n${run.output}`);
}

test('the demo shows 401s for clients managing their own tokens and none through one sidecar, and leaves no process behind', async () => {
  const run = await runDemo(DEMO_ARGS);
  assertNaiveCollapsesAndSidecarDoesNot(run);
  assert.equal(run.sidecars.length, 1, run.output);
  await assertNothingLeftBehind(run);
});

test('with Redis the demo runs two sidecar instances sharing it, whose clients see no 401 either', async () => {
  const [redis] = await startRedisNodes(1);
  const run = await runDemo([...DEMO_ARGS, '--redis', redis!.url]);
  assertNaiveCollapsesAndSidecarDoesNot(run);
  assert.equal(run.sidecars.length, 2, run.output);
  await assertNothingLeftBehind(run);
});

test('the demo rejects bad arguments with exit code 2, naming each one', async () => {
  const run = await runDemo(['demo', '--duration', 'soon', '--clients', '0', '--bogus']);
  assert.equal(run.code, 2);
  assert.match(run.output, /--duration: must be a positive number/);
  assert.match(run.output, /--clients: must be a positive whole number/);
  assert.match(run.output, /--bogus: unknown option/);
});
