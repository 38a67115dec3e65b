import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { waitFor } from '../../src/harness/wait-for.js';
import { buildMockUpstream } from '../../src/mock/app.js';
import { startSidecar, type RunningProcess } from '../helpers/processes.js';

// The contract's exit code 0 on "SIGTERM/SIGINT drain", against the real dist/cli.js.
// On a signal the sidecar stops accepting, lets in-flight requests finish for up to
// SHUTDOWN_TIMEOUT_MS, force-closes whatever is left, and exits 0.
//
// Nothing here guesses how long a request takes to get through: the upstream (the mock, in this
// process) counts each echo request as it arrives and holds it until the test releases it, so the
// signal goes out once every request is known to be in flight, and the answers start after it.

/** How long after the drain timeout a forced stop may take (closing sockets, the store, exiting). */
const EXIT_MARGIN_MS = 1_500;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** performance.now() when the last body byte arrived. */
  doneAt: number;
}

/**
 * GET over a connection of its own (no agent, `Connection: close`), so every request is one TCP
 * connection the sidecar accepted before the signal. Resolves once the whole body has arrived.
 */
function get(url: string, timeoutMs = 15_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), doneAt: performance.now() }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`response to ${url} aborted`)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Opens a fresh TCP connection: 'connected' or the error code (ECONNREFUSED when nothing listens). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Tries fresh connections until one is refused; resolves with when (performance.now()). */
async function refusedBy(port: number, deadline: number): Promise<number> {
  await waitFor(async () => (await tryConnect(port)) === 'ECONNREFUSED', {
    timeoutMs: Math.max(0, deadline - performance.now()),
    intervalMs: 10,
    what: `port ${port} refusing new connections`,
  });
  return performance.now();
}

/** Sends `signal` and measures how long the process takes to exit, and with what. */
function signalAndTimeExit(proc: RunningProcess, signal: NodeJS.Signals): { sentAt: number; exit: Promise<{ code: number | string; afterMs: number }> } {
  const sentAt = performance.now();
  proc.child.kill(signal);
  return { sentAt, exit: proc.exited.then((code) => ({ code, afterMs: performance.now() - sentAt })) };
}

/** The mock with a gate before its echo route: counts arrivals, holds each until `release()`. */
async function startHoldingMock(): Promise<{ url: string; apiTotal: () => number; arrived: () => number; release: () => void }> {
  const mock = buildMockUpstream();
  let arrived = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  mock.app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/v2/echo/')) return;
    arrived++;
    await released;
  });
  const url = await mock.app.listen({ port: 0, host: '127.0.0.1' });
  after(async () => {
    release();
    await mock.app.close();
  });
  return { url, apiTotal: () => mock.stats().api.total, arrived: () => arrived, release };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** What the mock's echo route streams for `bytes=N`: byte i is i mod 256. */
const pattern = (length: number) => Buffer.from(Array.from({ length }, (_, i) => i % 256));

test('SIGTERM during slow requests lets all of them finish, refuses new connections at once and exits 0 within the drain timeout', async (t) => {
  const SHUTDOWN_TIMEOUT_MS = 5_000;
  const REQUESTS = 10;
  const BYTES = 256 * 1024;

  const mock = await startHoldingMock();
  const sidecar = await startSidecar(mock.url, { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
  after(() => sidecar.proc.stop('SIGKILL'));
  const port = Number(new URL(sidecar.url).port);
  const apiBefore = mock.apiTotal();

  // Half answer with the echo report (proves which request it was), half with a streamed body;
  // both are sent only once released, i.e. entirely during the drain.
  const startedAt = performance.now();
  const slow = Array.from({ length: REQUESTS }, (_, i) => get(`${sidecar.url}/api/v2/echo/slow-${i}${i % 2 ? `?bytes=${BYTES}` : ''}`));
  // Surface failures only when awaited below, not as unhandled rejections meanwhile.
  for (const answer of slow) answer.catch(() => {});
  await waitFor(() => mock.arrived() === REQUESTS, { what: `all ${REQUESTS} requests held at the upstream`, process: sidecar.proc });

  const { sentAt, exit } = signalAndTimeExit(sidecar.proc, 'SIGTERM');
  const refusedAt = await refusedBy(port, sentAt + 1_000);
  // Once refused, it stays refused: a second fresh connection and a real HTTP request both fail.
  assert.equal(await tryConnect(port), 'ECONNREFUSED', 'a new connection after the signal is refused');
  await assert.rejects(get(`${sidecar.url}/api/v2/echo/late`), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
  mock.release();

  const answers = await Promise.all(slow);
  const { code, afterMs } = await exit;
  const firstDone = Math.min(...answers.map((a) => a.doneAt));
  const lastDone = Math.max(...answers.map((a) => a.doneAt));
  const apiAfter = mock.apiTotal();
  t.diagnostic(
    JSON.stringify({
      signalAfterMs: Math.round(sentAt - startedAt),
      refusedAfterSignalMs: Math.round(refusedAt - sentAt),
      firstAnswerAfterSignalMs: Math.round(firstDone - sentAt),
      lastAnswerAfterSignalMs: Math.round(lastDone - sentAt),
      exitAfterSignalMs: Math.round(afterMs),
      exitCode: code,
    }),
  );

  answers.forEach((answer, i) => {
    assert.equal(answer.status, 200, `request ${i}: ${answer.body.toString().slice(0, 200)}`);
    if (i % 2) {
      assert.equal(answer.body.length, BYTES, `request ${i}: the whole streamed body arrived`);
      assert.equal(sha256(answer.body), sha256(pattern(BYTES)), `request ${i}: the body is intact`);
    } else {
      const report = JSON.parse(answer.body.toString()) as { path: string; headers: Record<string, string> };
      assert.equal(report.path, `/api/v2/echo/slow-${i}`);
      assert.match(report.headers.authorization ?? '', /^Bearer \S+/, `request ${i} went upstream with the shared token`);
    }
  });
  assert.equal(apiAfter - apiBefore, REQUESTS, 'exactly the in-flight requests reached the upstream, nothing sent after the signal');
  assert.equal(code, 0, sidecar.proc.output());
  assert.ok(afterMs < SHUTDOWN_TIMEOUT_MS, `exited ${Math.round(afterMs)} ms after the signal: as soon as drained, within the drain timeout`);
});

test('a request slower than the drain timeout is cut off and the process still exits 0 right after the timeout', async (t) => {
  const SHUTDOWN_TIMEOUT_MS = 1_000;

  // The upstream holds the request until the test ends: longer than any drain.
  const mock = await startHoldingMock();
  const sidecar = await startSidecar(mock.url, { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
  after(() => sidecar.proc.stop('SIGKILL'));

  const stuck = get(`${sidecar.url}/api/v2/echo/stuck`);
  stuck.catch(() => {});
  await waitFor(() => mock.arrived() === 1, { what: 'the request held at the upstream', process: sidecar.proc });

  const { exit } = signalAndTimeExit(sidecar.proc, 'SIGTERM');
  const { code, afterMs } = await exit;
  const outcome = await stuck.then(
    (answer) => `HTTP ${answer.status}`,
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  t.diagnostic(JSON.stringify({ exitAfterSignalMs: Math.round(afterMs), exitCode: code, clientSaw: outcome, drainTimeoutMs: SHUTDOWN_TIMEOUT_MS }));

  assert.equal(code, 0, sidecar.proc.output());
  assert.ok(afterMs >= SHUTDOWN_TIMEOUT_MS - 50, `exited ${Math.round(afterMs)} ms after the signal: the request got its drain time`);
  assert.ok(afterMs < SHUTDOWN_TIMEOUT_MS + EXIT_MARGIN_MS, `exited ${Math.round(afterMs)} ms after the signal, not when the upstream answered`);
  assert.notEqual(outcome, 'HTTP 200', 'the cut-off request did not pretend to succeed');
  assert.doesNotMatch(outcome, /^no answer/, 'the client learned of the cut-off (its connection ended) rather than waiting on');
});

test('SIGINT drains an in-flight request and exits 0 like SIGTERM', async (t) => {
  const mock = await startHoldingMock();
  const sidecar = await startSidecar(mock.url, { SHUTDOWN_TIMEOUT_MS: '5000' });
  after(() => sidecar.proc.stop('SIGKILL'));
  const port = Number(new URL(sidecar.url).port);

  const inFlight = get(`${sidecar.url}/api/v2/echo/interrupted`);
  inFlight.catch(() => {});
  await waitFor(() => mock.arrived() === 1, { what: 'the request held at the upstream', process: sidecar.proc });

  const { sentAt, exit } = signalAndTimeExit(sidecar.proc, 'SIGINT');
  // Released once the sidecar is draining (it refuses new connections), so the answer crosses the drain.
  await refusedBy(port, sentAt + 1_000);
  mock.release();
  const answer = await inFlight;
  const { code, afterMs } = await exit;
  t.diagnostic(JSON.stringify({ answerAfterSignalMs: Math.round(answer.doneAt - sentAt), exitAfterSignalMs: Math.round(afterMs), exitCode: code }));

  assert.equal(answer.status, 200);
  assert.equal((JSON.parse(answer.body.toString()) as { path: string }).path, '/api/v2/echo/interrupted');
  assert.equal(code, 0, sidecar.proc.output());
  assert.ok(afterMs < 5_000);
});
