import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockUsageError, mockDefaults, mockHelp, parseMockArgs } from '../../src/mock/options.js';

test('no flags and no env give the documented defaults on 127.0.0.1:9000', () => {
  const { options, host, port } = parseMockArgs([], {});
  assert.deepEqual(options, mockDefaults);
  assert.equal(host, '127.0.0.1');
  assert.equal(port, 9000);
  assert.equal(options.tokenLifetimeSeconds, 86400);
  assert.equal(options.perTokenLimit, 0);
  assert.equal(options.rateLimitMode, 'per-token');
  assert.equal(options.rotateRefreshTokens, true);
});

test('by default the mock behaves like Genesys today: no budget headers, a fixed window, 429 bodies without a limit, a readable Limits API', () => {
  const { options } = parseMockArgs([], {});
  assert.equal(options.budgetHeaders, 'none');
  assert.equal(options.windowKind, 'fixed');
  assert.equal(options.limitIn429, false);
  assert.equal(options.limitsNamespace, 'platform.api');
  assert.equal(options.limitsApiValue, null);
  assert.equal(options.limitsApiForbidden, false);
});

test('the budget-header, window, 429-body and Limits API knobs are read from flags and MOCK_* env variables', () => {
  const fromFlags = parseMockArgs(
    [
      '--budget-headers', 'IETF', '--window-kind=sliding', '--rate-limit-mode', 'per-user', '--limit-in-429',
      '--limits-namespace', 'auth.api', '--limits-api-value', '600', '--limits-api-forbidden',
    ],
    {},
  ).options;
  const fromEnv = parseMockArgs([], {
    MOCK_BUDGET_HEADERS: 'ietf',
    MOCK_WINDOW_KIND: 'sliding',
    MOCK_RATE_LIMIT_MODE: 'per-user',
    MOCK_LIMIT_IN_429: 'true',
    MOCK_LIMITS_NAMESPACE: 'auth.api',
    MOCK_LIMITS_API_VALUE: '600',
    MOCK_LIMITS_API_FORBIDDEN: 'yes',
  }).options;
  const expected = {
    ...mockDefaults,
    budgetHeaders: 'ietf',
    windowKind: 'sliding',
    rateLimitMode: 'per-user',
    limitIn429: true,
    limitsNamespace: 'auth.api',
    limitsApiValue: 600,
    limitsApiForbidden: true,
  };
  assert.deepEqual(fromFlags, expected);
  assert.deepEqual(fromEnv, expected);
  for (const kind of ['none', 'inin', 'ietf', 'x-ratelimit']) assert.equal(parseMockArgs(['--budget-headers', kind], {}).options.budgetHeaders, kind);
  assert.equal(parseMockArgs(['--rate-limit-mode', 'per-org'], {}).options.rateLimitMode, 'per-org');
});

test('every value knob is read from its flag, in both --flag value and --flag=value forms', () => {
  const { options, host, port } = parseMockArgs(
    [
      '--client-id', 'id', '--client-secret=s3cret', '--token-lifetime', '0.5', '--token-latency', '20',
      '--api-latency=5', '--token-rate-limit', '3', '--token-rate-window', '1000', '--per-token-limit', '300',
      '--per-token-window', '60000', '--rate-limit-mode', 'per-client', '--fail-token-every', '4', '--fail-token-status', '500',
      '--fail-token-window', '1000-2000', '--fail-api-every', '7', '--fail-api-status=429',
      '--fail-api-window', '0-500', '--refresh-token', 'seed', '--host', '0.0.0.0', '--port', '0',
    ],
    {},
  );
  assert.deepEqual(options, {
    ...mockDefaults,
    clientId: 'id',
    clientSecret: 's3cret',
    tokenLifetimeSeconds: 0.5,
    tokenLatencyMs: 20,
    apiLatencyMs: 5,
    tokenRateLimit: 3,
    tokenRateWindowMs: 1000,
    perTokenLimit: 300,
    perTokenWindowMs: 60000,
    rateLimitMode: 'per-client',
    failTokenEvery: 4,
    failTokenStatus: 500,
    failTokenWindow: { startMs: 1000, endMs: 2000 },
    failApiEvery: 7,
    failApiStatus: 429,
    failApiWindow: { startMs: 0, endMs: 500 },
    refreshTokenSeed: 'seed',
  });
  assert.equal(host, '0.0.0.0');
  assert.equal(port, 0);
});

test('switches turn on bare and off with --no- or =false', () => {
  assert.equal(parseMockArgs(['--revoke-on-issue'], {}).options.revokeOnIssue, true);
  assert.equal(parseMockArgs(['--no-rotate-refresh-tokens'], {}).options.rotateRefreshTokens, false);
  assert.equal(parseMockArgs(['--rotate-refresh-tokens=off'], {}).options.rotateRefreshTokens, false);
});

test('MOCK_* env variables set knobs and a flag wins over its env variable', () => {
  const { options, port } = parseMockArgs(['--token-lifetime', '3'], {
    MOCK_TOKEN_LIFETIME: '10',
    MOCK_REVOKE_ON_ISSUE: 'true',
    MOCK_PORT: '9100',
  });
  assert.equal(options.tokenLifetimeSeconds, 3);
  assert.equal(options.revokeOnIssue, true);
  assert.equal(port, 9100);
});

test('every invalid setting is reported at once, naming the flag or env variable and the value', () => {
  assert.throws(
    () =>
      parseMockArgs(['--token-lifetime', 'x', '--fail-api-status', '200', '--fail-token-window', '5-1', '--bogus'], {
        MOCK_PER_TOKEN_LIMIT: '-1',
        MOCK_RATE_LIMIT_MODE: 'per-account',
        MOCK_BUDGET_HEADERS: 'github',
        MOCK_LIMITS_API_VALUE: '0',
      }),
    (error: unknown) => {
      assert.ok(error instanceof MockUsageError);
      assert.deepEqual(error.problems, [
        '--bogus: unknown option (see --help)',
        '--token-lifetime: must be a positive number of seconds, got "x"',
        'MOCK_PER_TOKEN_LIMIT: must be a whole number, 0 or more (0 = off), got "-1"',
        'MOCK_RATE_LIMIT_MODE: must be per-token, per-client, per-org or per-user, got "per-account"',
        'MOCK_BUDGET_HEADERS: must be none, inin, ietf or x-ratelimit, got "github"',
        'MOCK_LIMITS_API_VALUE: must be a whole number, 1 or more, got "0"',
        '--fail-token-window: must be a window "startMs-endMs" after mock start, with start < end, got "5-1"',
        '--fail-api-status: must be an HTTP error status from 400 to 599, got "200"',
      ]);
      assert.match(error.message, /--token-lifetime: must be a positive number of seconds, got "x"/);
      return true;
    },
  );
});

test('a value flag at the end of argv is reported as missing its value', () => {
  assert.throws(() => parseMockArgs(['--port'], {}), /--port: needs a value/);
});

test('a positional argument is rejected', () => {
  assert.throws(() => parseMockArgs(['serve'], {}), /serve: unknown argument/);
});

test('help lists every flag with its env name and default', () => {
  const help = mockHelp();
  for (const expected of [
    '--token-lifetime <seconds>', 'MOCK_TOKEN_LIFETIME', '(default: 86400)', '--[no-]revoke-on-issue', '--fail-api-window', 'MOCK_PORT', '(default: 9000)',
    '--budget-headers <kind>', 'MOCK_BUDGET_HEADERS', '(default: none)', '--window-kind <kind>', '(default: fixed)', '--[no-]limit-in-429',
    '--limits-api-value <n>', '(default: the per-token limit per minute, or 300)', '--[no-]limits-api-forbidden', '(default: platform.api)',
  ]) {
    assert.ok(help.includes(expected), `help mentions ${expected}`);
  }
});
