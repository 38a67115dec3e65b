import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figuresOf } from '../../src/report/figures.js';
import { evaluate, GateSyntaxError, parseGate } from '../../src/report/gates.js';
import type { Sample } from '../../src/report/prom-text.js';

const s = (name: string, labels: Record<string, string>, value: number): Sample => ({ name, labels, value });

/** Two instances: 1,000 upstream answers (3 × 401, 2 × 429), clients saw one 401 and one sidecar 503. */
const FIGURES = figuresOf([
  {
    admin: 'http://a',
    instanceId: 'a',
    since: 'start',
    samples: [
      s('token_sidecar_upstream_responses_total', { code: '200' }, 500),
      s('token_sidecar_upstream_responses_total', { code: '401' }, 3),
      s('token_sidecar_upstream_responses_total', { code: 'error' }, 1),
      s('token_sidecar_client_responses_total', { code: '200', origin: 'upstream' }, 500),
      s('token_sidecar_client_responses_total', { code: '401', origin: 'upstream' }, 1),
      s('token_sidecar_client_responses_total', { code: '503', origin: 'sidecar' }, 1),
      s('token_sidecar_token_requests_total', { profile: 'default', result: 'success' }, 4),
      s('token_sidecar_token_requests_total', { profile: 'default', result: 'timeout' }, 1),
      s('token_sidecar_pool_size_peak', { profile: 'default' }, 3),
      s('token_sidecar_replays_total', { result: 'success' }, 2),
      s('token_sidecar_replays_total', { result: 'unauthorized' }, 1),
    ],
  },
  {
    admin: 'http://b',
    instanceId: 'b',
    since: 'start',
    samples: [
      s('token_sidecar_upstream_responses_total', { code: '200' }, 495),
      s('token_sidecar_upstream_responses_total', { code: '429' }, 2),
      s('token_sidecar_client_responses_total', { code: '200', origin: 'upstream' }, 495),
      s('token_sidecar_client_responses_total', { code: '429', origin: 'upstream' }, 2),
      s('token_sidecar_pool_size_peak', { profile: 'default' }, 4),
      s('token_sidecar_refusals_total', { reason: 'halted' }, 7),
    ],
  },
]);

const value = (expression: string) => evaluate(parseGate(expression), FIGURES).value;

describe('gates', () => {
  it('read the documented metrics off the fleet’s figures', () => {
    assert.equal(value('upstream_requests>0'), 1001);
    assert.equal(value('upstream_responses>0'), 1000);
    assert.equal(value('upstream_errors>0'), 1);
    assert.equal(value('upstream_401>0'), 3);
    assert.equal(value('upstream_4xx>0'), 5);
    assert.equal(value('upstream_429_ratio>0'), 0.002);
    assert.equal(value('client_401>0'), 1);
    assert.equal(value('client_5xx>0'), 1);
    assert.equal(value('client_responses>0'), 999);
    assert.equal(value('sidecar_answers>0'), 1);
    assert.equal(value('sidecar_503>0'), 1);
    assert.equal(value('token_requests>0'), 5);
    assert.equal(value('token_requests_failed>0'), 1);
    assert.equal(value('token_requests_timeout>0'), 1);
    assert.equal(value('replays>0'), 3);
    assert.equal(value('replays_unauthorized>0'), 1);
    assert.equal(value('pool_size_peak>0'), 4, 'the largest any instance saw, not a sum');
    assert.equal(value('refusals>0'), 7);
    assert.equal(value('refusals_halted>0'), 7);
    assert.equal(value('rate_limited_passed>0'), 0);
  });

  it('fail when the expression is true, hold when it is false, with every operator', () => {
    const held = (expression: string) => evaluate(parseGate(expression), FIGURES).held;
    assert.equal(held('client_401>0'), false);
    assert.equal(held('client_401>1'), true);
    assert.equal(held('client_401>=1'), false);
    assert.equal(held('client_401<1'), true);
    assert.equal(held('client_401<=1'), false);
    assert.equal(held('client_401==1'), false);
    assert.equal(held('client_401!=1'), true);
    assert.equal(held(' token_requests > 50 '), true);
    assert.match(evaluate(parseGate('client_401>0'), FIGURES).message, /client_401>0: failed, client_401 = 1/);
  });

  it('fail, saying n/a, when an instance lacks the added-latency histogram', () => {
    const result = evaluate(parseGate('added_p99_ms>5'), FIGURES);
    assert.equal(result.value, null);
    assert.equal(result.held, false);
    assert.match(result.message, /n\/a/);
  });

  it('refuse an unknown metric or a malformed expression, naming it', () => {
    for (const bad of ['bogus>1', 'client_401', 'client_401>>1', 'client_401>abc', 'replays_sometimes>0', 'sidecar_503_ratio>0', 'upstream_601>0']) {
      assert.throws(() => parseGate(bad), (err: Error) => err instanceof GateSyntaxError && err.message.includes(bad), bad);
    }
  });
});
