import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { CAP_RECHECK_MS } from '../../src/brakes/request-cap.js';
import { HALT_POLL_MS } from '../../src/brakes/halt.js';
import { RunBrakes } from '../../src/brakes/run-brakes.js';
import { parseTestWindow, windowClock } from '../../src/config/test-window.js';
import type { Config } from '../../src/config/types.js';
import { SidecarError } from '../../src/errors.js';
import { createLogger } from '../../src/logging.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testConfig } from '../helpers/in-process.js';

const log = createLogger({ level: 'silent', format: 'json' });

function window(text: string) {
  const parsed = parseTestWindow(text);
  assert.ok(parsed.ok, text);
  return parsed.value;
}

/** Epoch ms of a wall-clock UTC time on 2026-12-07 (plus days). */
function utc(hhmm: string, days = 0): number {
  return Date.parse(`2026-12-07T${hhmm}:00Z`) + days * 86_400_000;
}

/** Brakes of instances sharing one memory store, on one fake clock. */
function fleet(overrides: Partial<Config>, count = 1, clock = new FakeClock(utc('12:00'))) {
  const store = new MemoryTokenStore({ now: () => clock.now() });
  const config = { ...testConfig('http://127.0.0.1:1'), ...overrides };
  const metrics = createMetrics(new Registry(), { defaultMetrics: false });
  const brakes = Array.from({ length: count }, () => new RunBrakes(config, { store, clock, metrics, log }));
  const refusals = async (reason: string) => (await metrics.refusals.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { clock, store, brakes, refusals };
}

async function verdict(brakes: RunBrakes): Promise<string> {
  const answer = await brakes.admit();
  return answer === null ? 'go' : answer.code;
}

describe('TEST_WINDOW', () => {
  it('is open from its start up to (not including) its end, across midnight, in its time zone', () => {
    // Chicago is UTC-6 in December: 23:00-05:00 there is 05:00-11:00 UTC.
    const inside = windowClock(window('23:00-05:00 America/Chicago'));
    assert.equal(inside(utc('04:59')).inside, false);
    assert.equal(inside(utc('05:00')).inside, true, '23:00 in Chicago');
    assert.equal(inside(utc('06:30')).inside, true, 'half past midnight in Chicago');
    assert.equal(inside(utc('10:59')).inside, true);
    assert.equal(inside(utc('11:00')).inside, false, '05:00 in Chicago is the end');
    assert.equal(inside(utc('11:00')).localMinute, 5 * 60);
  });

  it('follows daylight saving time: the same window is an hour earlier in UTC in July', () => {
    const inside = windowClock(window('09:00-17:00 America/Chicago'));
    assert.equal(inside(Date.parse('2026-12-07T14:30:00Z')).inside, false, '08:30 CST');
    assert.equal(inside(Date.parse('2026-07-07T14:30:00Z')).inside, true, '09:30 CDT');
  });

  it('refuses every request outside the window with an error naming it, counts each, and lets them through once it opens', async () => {
    const { clock, brakes: [brakes], refusals } = fleet({ testWindow: window('13:00-14:00 UTC') });
    const refused = brakes!.admit();
    assert.ok(refused instanceof SidecarError);
    assert.equal(refused.status, 403);
    assert.equal(refused.code, 'sidecar_outside_test_window');
    assert.match(refused.message, /13:00-14:00 UTC.*it is 12:00 in UTC/);
    assert.equal(await verdict(brakes!), 'sidecar_outside_test_window');
    assert.equal(await refusals('outside_test_window'), 2);
    await clock.advance(60 * 60_000);
    assert.equal(await verdict(brakes!), 'go');
    await clock.advance(60 * 60_000);
    assert.equal(await verdict(brakes!), 'sidecar_outside_test_window');
  });
});

describe('MAX_REQUESTS', () => {
  it('lets exactly the cap through three instances sharing a store, then refuses with its own 429', async () => {
    const { brakes, refusals } = fleet({ maxRequests: 1_000 }, 3);
    await Promise.all(brakes.map((b) => b.start()));
    let admitted = 0;
    let refused = 0;
    for (let i = 0; i < 1_500; i++) {
      const answer = await brakes[i % 3]!.admit();
      if (answer === null) admitted++;
      else {
        assert.equal(answer.code, 'sidecar_request_cap');
        assert.equal(answer.status, 429);
        refused++;
      }
    }
    // Requests spread evenly: every block reserved is used, so the fleet gets the whole cap.
    assert.equal(admitted, 1_000);
    assert.equal(await refusals('request_cap'), refused);
  });

  it('takes one store command per block, not per request', async () => {
    const { store, brakes: [brakes] } = fleet({ maxRequests: 100_000 });
    let calls = 0;
    const reserve = store.reserveRequests.bind(store);
    store.reserveRequests = (...args) => (calls++, reserve(...args));
    await brakes!.start();
    for (let i = 0; i < 1_000; i++) assert.equal(await brakes!.admit(), null);
    assert.ok(calls <= 11, `${calls} reservations for 1,000 requests`);
  });

  it('refuses a replay without a permit in hand, and counts it', async () => {
    const { brakes: [brakes], refusals } = fleet({ maxRequests: 2 });
    await brakes!.start();
    assert.equal(await brakes!.admit(), null);
    assert.equal(brakes!.mayReplay(), true);
    assert.equal(brakes!.mayReplay(), false);
    assert.equal(await refusals('request_cap'), 1);
  });

  it('starts a new count after POST /admin/requests/reset, on every instance within the recheck time', async () => {
    const { clock, brakes } = fleet({ maxRequests: 2 }, 2);
    await Promise.all(brakes.map((b) => b.start()));
    while ((await verdict(brakes[0]!)) === 'go');
    while ((await verdict(brakes[1]!)) === 'go');
    await brakes[0]!.resetRequests();
    assert.equal(await verdict(brakes[0]!), 'go');
    assert.equal(await verdict(brakes[1]!), 'sidecar_request_cap', 'the other instance has not asked again yet');
    await clock.advance(CAP_RECHECK_MS);
    assert.equal(await verdict(brakes[1]!), 'go');
  });

  it('refuses while the store holding the count cannot be reached, saying so', async () => {
    const { store, brakes: [brakes] } = fleet({ maxRequests: 10 });
    store.reserveRequests = () => Promise.reject(new Error('connection refused'));
    const answer = await brakes!.admit();
    assert.ok(answer instanceof SidecarError);
    assert.equal(answer.code, 'sidecar_request_cap');
    assert.match(answer.message, /cannot be reached/);
  });
});

describe('the halt switch', () => {
  it('halts every instance on the store within one poll of a halt on any of them, until resume', async () => {
    const { clock, brakes, refusals } = fleet({}, 3);
    await Promise.all(brakes.map((b) => b.start()));
    await brakes[1]!.halt();
    assert.equal(await verdict(brakes[1]!), 'sidecar_halted', 'the instance asked stops at once');
    await clock.advance(HALT_POLL_MS);
    for (const b of brakes) assert.equal(await verdict(b), 'sidecar_halted');
    const halted = brakes[0]!.admit() as SidecarError;
    assert.equal(halted.status, 503);
    await brakes[2]!.resume();
    await clock.advance(HALT_POLL_MS);
    for (const b of brakes) assert.equal(await verdict(b), 'go');
    assert.equal(await refusals('halted'), 5);
    for (const b of brakes) b.stop();
  });

  it('keeps a halt while the store cannot be read', async () => {
    const { clock, store, brakes: [a, b] } = fleet({}, 2);
    await Promise.all([a!.start(), b!.start()]);
    await a!.halt();
    await clock.advance(HALT_POLL_MS);
    store.getHalt = () => Promise.reject(new Error('down'));
    await clock.advance(HALT_POLL_MS * 4);
    assert.equal(await verdict(b!), 'sidecar_halted');
    a!.stop();
    b!.stop();
  });
});
