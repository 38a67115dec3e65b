import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { startCli } from '../helpers/processes.js';
import { startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';

// `token-sidecar demo` as a user runs it (from dist), shortened: 50 clients at 1 request/s, 3 s per
// side. 2 s tokens expire within the phase (so clients on their own see 401s), and each lives
// through 80 of its client's requests while the mock allows a token 50 per 10 s: one token is not
// enough, the sidecar's pool has to grow. 4 s, not 3: a client's third request, 2 s after its first,
// finds its token a few milliseconds short of its 2 s on an idle machine, so only the fourth is sure
// to meet an expired one (with 3 s the naive side saw no 401 at all now and then).
const DEMO_ARGS = ['demo', '--duration', '4', '--clients', '50', '--token-lifetime', '2'];
/** TOKEN_POOL_MAX's default: the demo's sidecars run with default settings. */
const DEFAULT_POOL_MAX = 64;

after(stopAllRedisNodes);

interface DemoRun {
  readonly code: number | string;
  readonly output: string;
  /** The two columns of a table row: [without sidecar, through sidecar]. */
  row(label: string): [number, number];
  /** A row that applies to the sidecar side alone: its naive column must show a dash. */
  sidecarRow(label: string): number;
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
    sidecarRow(label) {
      const match = new RegExp(`^${label.replace(/[()]/g, '\\$&')}\\s+—\\s+([\\d,]+)\\s*$`, 'm').exec(output);
      assert.ok(match, `no "${label}" row with a dash for the naive side in:\n${output}`);
      return Number(match[1]!.replaceAll(',', ''));
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

/** The 429 and pool rows exist and agree with each other and with the demo's RATE_LIMIT_POLICY=pass. */
function assertRateLimitRowsConsistent(run: DemoRun): void {
  const [naiveSeen, sidecarSeen] = run.row('429s seen by clients');
  const [naiveAnswered, sidecarAnswered] = run.row('429s answered by upstream');
  const [, sidecarTokens] = run.row('token requests');
  assert.equal(naiveSeen, naiveAnswered, `with nothing in between, clients see every upstream 429:\n${run.output}`);
  const replayed = run.sidecarRow('rate-limited requests, replayed');
  run.sidecarRow('rate-limited requests, passed');
  // Waiting is not the policy's alone: an auto pool holds a request for the slot it is adding.
  run.sidecarRow('rate-limited requests, waited');
  assert.equal(run.sidecarRow('rate-limited requests, rejected'), 0, `RATE_LIMIT_POLICY=pass never rejects:\n${run.output}`);
  assert.ok(replayed <= sidecarAnswered, `every replay follows an upstream 429:\n${run.output}`);
  assert.ok(sidecarSeen <= sidecarAnswered, `with RATE_LIMIT_POLICY=pass every 429 a client sees is the upstream's:\n${run.output}`);
  const peak = run.sidecarRow('token pool size, peak');
  assert.ok(peak >= 1 && peak <= DEFAULT_POOL_MAX, `the pool holds 1 to TOKEN_POOL_MAX tokens, got ${peak}:\n${run.output}`);
  assert.ok(sidecarTokens >= peak, `every slot in rotation cost a token request:\n${run.output}`);
}

test('the demo shows 401s for clients managing their own tokens and none through one sidecar, and leaves no process behind', async () => {
  const run = await runDemo(DEMO_ARGS);
  assertNaiveCollapsesAndSidecarDoesNot(run);
  assertRateLimitRowsConsistent(run);
  assert.equal(run.sidecars.length, 1, run.output);
  await assertNothingLeftBehind(run);
});

test('with Redis the demo runs two sidecar instances sharing it, whose clients see no 401 either', async () => {
  const [redis] = await startRedisNodes(1);
  const run = await runDemo([...DEMO_ARGS, '--redis', redis!.url]);
  assertNaiveCollapsesAndSidecarDoesNot(run);
  assertRateLimitRowsConsistent(run);
  assert.equal(run.sidecars.length, 2, run.output);
  await assertNothingLeftBehind(run);
});

test('with one token (--pool-size 1) the upstream 429s reach the clients and the rows account for them', async () => {
  const run = await runDemo([...DEMO_ARGS, '--pool-size', '1']);
  assert.equal(run.code, 0, run.output);
  assertRateLimitRowsConsistent(run);
  const [, seen] = run.row('429s seen by clients');
  const [, answered] = run.row('429s answered by upstream');
  assert.equal(run.sidecarRow('token pool size, peak'), 1, run.output);
  assert.ok(answered > 0, `one token cannot carry 50 requests/s under 50 per 10 s:\n${run.output}`);
  assert.equal(run.sidecarRow('rate-limited requests, replayed'), 0, `no other slot to replay on:\n${run.output}`);
  assert.equal(seen, answered, `with no slot to replay on, every upstream 429 reaches its client:\n${run.output}`);
  assert.ok(run.sidecarRow('rate-limited requests, passed') > 0, `requests that met the exhausted token are passed:\n${run.output}`);
  await assertNothingLeftBehind(run);
});

test('the demo rejects bad arguments with exit code 2, naming each one', async () => {
  const run = await runDemo(['demo', '--duration', 'soon', '--clients', '0', '--rate', '-1', '--pool-size', 'many', '--bogus']);
  assert.equal(run.code, 2);
  assert.match(run.output, /--duration: must be a positive number/);
  assert.match(run.output, /--rate: must be a positive number/);
  assert.match(run.output, /--pool-size: must be auto or a positive whole number/);
  assert.match(run.output, /--clients: must be a positive whole number/);
  assert.match(run.output, /--bogus: unknown option/);
});
