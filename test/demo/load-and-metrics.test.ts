import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLoad } from '../../src/demo/load.js';
import { parseSamples } from '../../src/demo/sidecar-metrics.js';
import { sleep } from '../../src/token/clock.js';
import { FakeClock } from '../helpers/fake-clock.js';

test('a paced client never starts more than one request per interval, however slow its answers', async () => {
  // On a fake clock that moves 10 ms at a time: a stall of this machine cannot make a client miss
  // its first start before the deadline.
  const clock = new FakeClock();
  const starts = new Map<number, number>();
  const running = runLoad({
    clients: 20,
    durationMs: 500,
    intervalMs: 100,
    clock,
    step: async (index) => {
      starts.set(index, (starts.get(index) ?? 0) + 1);
      // Every third answer takes two intervals: a client that caught up afterwards would start twice in a row.
      if ((starts.get(index)! % 3) === 0) await sleep(clock, 200);
      return 200;
    },
  });
  let done = false;
  void running.finally(() => (done = true)).catch(() => {});
  while (!done) await clock.advance(10);
  const result = await running;
  assert.equal(starts.size, 20, 'every client started');
  for (const [index, count] of starts) assert.ok(count <= 5, `client ${index} started ${count} requests in 5 intervals`);
  assert.equal(result.requests, [...starts.values()].reduce((a, b) => a + b, 0));
});

test('an aborted paced run ends its clients during their pause', async () => {
  // Client 0 starts at once; the others' first starts are spread over the 60 s interval, so they are
  // all pausing when client 0's request aborts the run.
  const stop = new AbortController();
  const result = await runLoad({
    clients: 5,
    durationMs: 600_000,
    intervalMs: 60_000,
    signal: stop.signal,
    step: async () => {
      stop.abort();
      return 200;
    },
  });
  assert.equal(result.requests, 1, 'no client starts a request after the abort');
});

test('metric samples are read by exact name, with their labels', () => {
  const text = [
    '# HELP token_sidecar_pool_size Token pool slots in rotation.',
    '# TYPE token_sidecar_pool_size gauge',
    'token_sidecar_pool_size{profile="default"} 42',
    'token_sidecar_pool_size{profile="other"} 3',
    'token_sidecar_pool_size_extra{profile="default"} 99',
    'token_sidecar_rate_limited_total{profile="default",action="replayed"} 7',
    'token_sidecar_rate_limited_total{action="passed",profile="default"} 0',
  ].join('\n');
  assert.deepEqual(parseSamples(text, 'token_sidecar_pool_size'), [
    { labels: { profile: 'default' }, value: 42 },
    { labels: { profile: 'other' }, value: 3 },
  ]);
  assert.deepEqual(
    parseSamples(text, 'token_sidecar_rate_limited_total').map((s) => [s.labels.action, s.value]),
    [['replayed', 7], ['passed', 0]],
  );
});
