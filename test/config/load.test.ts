import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

type Env = Record<string, string | undefined>;

const SECRET = 'S3cr3t-never-shown';
const CREDENTIALS: Env = { GENESYSCLOUD_OAUTHCLIENT_ID: 'client-1', GENESYSCLOUD_OAUTHCLIENT_SECRET: SECRET };

function load(env: Env, argv: string[] = []): Readonly<Config> {
  return loadConfig(argv, { ...CREDENTIALS, ...env });
}

/** The problems loadConfig reports; fails the test when it does not throw a ConfigError. */
function problemsOf(env: Env, argv: string[] = [], withCredentials = true): string[] {
  try {
    loadConfig(argv, withCredentials ? { ...CREDENTIALS, ...env } : env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'sidecar-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function tempFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('loadConfig defaults', () => {
  it('applies every default of the contract when only the credentials are given', () => {
    assert.deepEqual(load({}), {
      profiles: [{
        name: 'default', grant: 'client_credentials', grantOptions: {}, clientId: 'client-1', clientSecret: SECRET,
        tokenUrl: 'https://login.mypurecloud.com/oauth/token', upstreamUrl: 'https://api.mypurecloud.com', poolSize: 1,
        tokenAuth: 'client_secret_basic', defaultLifetimeS: 300, injectHeader: 'authorization', injectPrefix: 'Bearer ',
        poolAuto: true, poolMax: 64, rateLimitWindowMs: 60000, provider: 'genesys', rateLimitPolicy: 'pass', rateLimitMaxWaitMs: 5000,
      }],
      defaultProfile: 'default',
      redisUrls: [],
      redisKeyPrefix: 'token-sidecar',
      host: '127.0.0.1',
      port: 8080,
      adminHost: '127.0.0.1',
      adminPort: 9464,
      refreshAt: 0.8,
      workers: 1,
      protectedMode: true,
      logLevel: 'info',
      logFormat: 'json',
      upstreamTimeoutMs: 30000,
      upstreamConnections: 256,
      tokenTimeoutMs: 10000,
      lockGraceMs: 5000,
      replayBodyLimitBytes: 512000,
      shutdownTimeoutMs: 8000,
      serverTiming: true,
      login: { port: 8085 },
    });
  });

  it('treats an empty value as not set', () => {
    const config = load({ PORT: '', REDIS_URL: ' ', LOG_LEVEL: '' }, ['--workers=']);
    assert.equal(config.port, 8080);
    assert.deepEqual(config.redisUrls, []);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.workers, 1);
  });

  it('binds the admin port to HOST unless ADMIN_HOST is given', () => {
    assert.equal(load({ HOST: 'localhost' }).adminHost, 'localhost');
    assert.equal(load({ HOST: 'localhost', ADMIN_HOST: '127.0.0.2' }).adminHost, '127.0.0.2');
  });
});

describe('loadConfig sources', () => {
  // [setting, env name, flag, env value, flag value, how to read it from the config]
  const precedence: ReadonlyArray<readonly [string, string, string, string, (c: Config) => unknown, unknown]> = [
    ['PORT', '--port', '1111', '2222', (c) => c.port, 2222],
    ['GENESYSCLOUD_OAUTHCLIENT_ID', '--client-id', 'from-env', 'from-flag', (c) => c.profiles[0]?.clientId, 'from-flag'],
    ['GENESYSCLOUD_REGION', '--region', 'eu-west-2', 'ap_northeast_1', (c) => c.profiles[0]?.upstreamUrl, 'https://api.mypurecloud.jp'],
    ['LOG_LEVEL', '--log-level', 'debug', 'warn', (c) => c.logLevel, 'warn'],
    ['REDIS_URL', '--redis', 'redis://env:6379', 'redis://flag:6379', (c) => c.redisUrls, ['redis://flag:6379']],
    ['REPLAY_BODY_LIMIT', '--replay-body-limit', '1', '2', (c) => c.replayBodyLimitBytes, 2],
    ['TOKEN_POOL_SIZE', '--pool-size', '4', 'auto', (c) => c.profiles[0]?.poolAuto, true],
    ['TOKEN_POOL_MAX', '--pool-max', '4', '16', (c) => c.profiles[0]?.poolMax, 16],
    ['RATE_LIMIT_PER_TOKEN', '--rate-limit-per-token', '100', '300', (c) => c.profiles[0]?.rateLimitPerToken, 300],
    ['RATE_LIMIT_POLICY', '--rate-limit-policy', 'wait', 'reject', (c) => c.profiles[0]?.rateLimitPolicy, 'reject'],
    ['RATE_LIMIT_MAX_WAIT_MS', '--rate-limit-max-wait-ms', '1', '2', (c) => c.profiles[0]?.rateLimitMaxWaitMs, 2],
  ];
  for (const [env, flag, envValue, flagValue, read, expected] of precedence) {
    it(`lets ${flag} win over ${env}, in both the "--flag value" and "--flag=value" forms`, () => {
      assert.deepEqual(read(load({ [env]: envValue }, [flag, flagValue])), expected);
      assert.deepEqual(read(load({ [env]: envValue }, [`${flag}=${flagValue}`])), expected);
      assert.deepEqual(read(load({ [env]: envValue })), read(load({}, [flag, envValue])));
    });
  }

  it('uses the last occurrence of a repeated flag', () => {
    assert.equal(load({}, ['--port', '1', '--port=2']).port, 2);
  });

  it('keeps everything after the first = as the value', () => {
    assert.equal(load({}, ['--client-secret=a=b=']).profiles[0]?.clientSecret, 'a=b=');
  });

  // [env name, value, how to read it, expected]
  const accepted: ReadonlyArray<readonly [string, string, (c: Config) => unknown, unknown]> = [
    ['PORT', '0', (c) => c.port, 0],
    ['ADMIN_PORT', '65535', (c) => c.adminPort, 65535],
    ['WORKERS', 'auto', (c) => c.workers, availableParallelism()],
    ['WORKERS', 'AUTO', (c) => c.workers, availableParallelism()],
    ['WORKERS', '4', (c) => c.workers, 4],
    ['TOKEN_POOL_SIZE', '64', (c) => [c.profiles[0]?.poolSize, c.profiles[0]?.poolAuto], [64, false]],
    ['TOKEN_POOL_SIZE', '256', (c) => c.profiles[0]?.poolSize, 256],
    ['TOKEN_POOL_SIZE', '1', (c) => [c.profiles[0]?.poolSize, c.profiles[0]?.poolAuto], [1, false]],
    ['TOKEN_POOL_SIZE', 'Auto', (c) => [c.profiles[0]?.poolSize, c.profiles[0]?.poolAuto], [1, true]],
    ['TOKEN_POOL_MAX', '8', (c) => c.profiles[0]?.poolMax, 8],
    ['RATE_LIMIT_PER_TOKEN', '300', (c) => c.profiles[0]?.rateLimitPerToken, 300],
    ['RATE_LIMIT_POLICY', 'Wait', (c) => c.profiles[0]?.rateLimitPolicy, 'wait'],
    ['RATE_LIMIT_POLICY', 'reject', (c) => c.profiles[0]?.rateLimitPolicy, 'reject'],
    ['RATE_LIMIT_MAX_WAIT_MS', '0', (c) => c.profiles[0]?.rateLimitMaxWaitMs, 0],
    ['REFRESH_AT', '0.1', (c) => c.refreshAt, 0.1],
    ['REFRESH_AT', '.95', (c) => c.refreshAt, 0.95],
    ['LOG_LEVEL', 'SILENT', (c) => c.logLevel, 'silent'],
    ['LOG_FORMAT', 'pretty', (c) => c.logFormat, 'pretty'],
    ['PROTECTED_MODE', 'off', (c) => c.protectedMode, false],
    ['PROTECTED_MODE', 'False', (c) => c.protectedMode, false],
    ['PROTECTED_MODE', 'no', (c) => c.protectedMode, false],
    ['PROTECTED_MODE', '0', (c) => c.protectedMode, false],
    ['PROTECTED_MODE', 'ON', (c) => c.protectedMode, true],
    ['PROTECTED_MODE', 'yes', (c) => c.protectedMode, true],
    ['PROTECTED_MODE', '1', (c) => c.protectedMode, true],
    ['PROTECTED_MODE', 'true', (c) => c.protectedMode, true],
    ['OAUTH_GRANT', 'Client_Credentials', (c) => c.profiles[0]?.grant, 'client_credentials'],
    ['REDIS_URL', ' redis://a:6379 , rediss://:pw@b:6380/2,', (c) => c.redisUrls, ['redis://a:6379', 'rediss://:pw@b:6380/2']],
    ['REDIS_KEY_PREFIX', 'load-test:eu', (c) => c.redisKeyPrefix, 'load-test:eu'],
    ['UPSTREAM_URL', 'http://127.0.0.1:4010/', (c) => c.profiles[0]?.upstreamUrl, 'http://127.0.0.1:4010'],
    ['UPSTREAM_URL', 'https://gw.example.com/genesys//', (c) => c.profiles[0]?.upstreamUrl, 'https://gw.example.com/genesys'],
    ['TOKEN_URL', 'http://127.0.0.1:4010/oauth/token?realm=x', (c) => c.profiles[0]?.tokenUrl, 'http://127.0.0.1:4010/oauth/token?realm=x'],
    ['INBOUND_API_KEY', 'k', (c) => c.inboundApiKey, 'k'],
    ['HOST', '::1', (c) => c.host, '::1'],
    ['UPSTREAM_TIMEOUT_MS', '1', (c) => c.upstreamTimeoutMs, 1],
    ['UPSTREAM_CONNECTIONS', '8', (c) => c.upstreamConnections, 8],
    ['TOKEN_TIMEOUT_MS', '2500', (c) => c.tokenTimeoutMs, 2500],
    ['LOCK_GRACE_MS', '500', (c) => c.lockGraceMs, 500],
    ['REPLAY_BODY_LIMIT', '0', (c) => c.replayBodyLimitBytes, 0],
    ['SHUTDOWN_TIMEOUT_MS', '0', (c) => c.shutdownTimeoutMs, 0],
    ['SERVER_TIMING', 'off', (c) => c.serverTiming, false],
    ['MAX_REQUESTS', '1000', (c) => c.maxRequests, 1000],
    ['TEST_WINDOW', '23:00-05:00 America/Chicago', (c) => c.testWindow, { text: '23:00-05:00 America/Chicago', startMinute: 1380, endMinute: 300, timeZone: 'America/Chicago' }],
    ['TEST_WINDOW', ' 09:30 - 17:00   utc ', (c) => c.testWindow?.text, '09:30-17:00 UTC'],
  ];
  for (const [env, value, read, expected] of accepted) {
    it(`accepts ${env}=${JSON.stringify(value)} as ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(read(load({ [env]: value })), expected);
    });
  }

  it('derives both URLs from the region and lets UPSTREAM_URL and TOKEN_URL override each one', () => {
    const region = { GENESYSCLOUD_REGION: 'euw2.pure.cloud' };
    assert.deepEqual(pickUrls(load(region)), ['https://api.euw2.pure.cloud', 'https://login.euw2.pure.cloud/oauth/token']);
    assert.deepEqual(pickUrls(load({ ...region, UPSTREAM_URL: 'http://127.0.0.1:1' })),
      ['http://127.0.0.1:1', 'https://login.euw2.pure.cloud/oauth/token']);
    assert.deepEqual(pickUrls(load({ ...region, TOKEN_URL: 'http://127.0.0.1:2/oauth/token' })),
      ['https://api.euw2.pure.cloud', 'http://127.0.0.1:2/oauth/token']);
  });
});

function pickUrls(config: Config): [string | undefined, string | undefined] {
  return [config.profiles[0]?.upstreamUrl, config.profiles[0]?.tokenUrl];
}

describe('loadConfig secret files', () => {
  it('reads GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE and drops only the trailing newline', () => {
    const path = tempFile('secret', ` ${SECRET} \n`);
    const config = loadConfig([], { GENESYSCLOUD_OAUTHCLIENT_ID: 'c', GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: path });
    assert.equal(config.profiles[0]?.clientSecret, ` ${SECRET} `);
  });

  it('reads --client-secret-file and drops a Windows line ending', () => {
    const path = tempFile('secret-crlf', `${SECRET}\r\n`);
    assert.equal(loadConfig(['--client-id', 'c', '--client-secret-file', path], {}).profiles[0]?.clientSecret, SECRET);
  });

  it('reads OAUTH_REFRESH_TOKEN_FILE and --refresh-token-file for the refresh_token grant', () => {
    const path = tempFile('refresh', 'rt-1\n');
    assert.equal(load({ OAUTH_GRANT: 'refresh_token', OAUTH_REFRESH_TOKEN_FILE: path }).profiles[0]?.refreshToken, 'rt-1');
    assert.equal(load({}, ['--grant=refresh_token', `--refresh-token-file=${path}`]).profiles[0]?.refreshToken, 'rt-1');
  });

  it('lets a secret file flag win over the secret in env, and a secret flag win over a file in env', () => {
    const path = tempFile('secret-flag', 'from-file');
    assert.equal(load({}, ['--client-secret-file', path]).profiles[0]?.clientSecret, 'from-file');
    assert.equal(loadConfig(['--client-secret', 'from-flag'], { ...CREDENTIALS, GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: path })
      .profiles[0]?.clientSecret, 'from-flag');
  });

  it('reports a missing or empty secret file without a knock-on "required"', () => {
    const missing = join(dir, 'missing');
    const empty = tempFile('empty', '\n');
    assert.deepEqual(problemsOf({ GENESYSCLOUD_OAUTHCLIENT_ID: 'c', GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: missing }, [], false), [
      `GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE (--client-secret-file): cannot read ${JSON.stringify(missing)} (ENOENT)`,
    ]);
    assert.deepEqual(problemsOf({ OAUTH_GRANT: 'refresh_token' }, ['--refresh-token-file', empty]), [
      `OAUTH_REFRESH_TOKEN_FILE (--refresh-token-file): ${JSON.stringify(empty)} is empty`,
    ]);
  });
});

describe('loadConfig validation', () => {
  // [what is wrong, env, argv, the one problem expected]
  const rules: ReadonlyArray<readonly [string, Env, string[], string]> = [
    ['a port above 65535', { PORT: '65536' }, [], 'PORT (--port): must be an integer from 0 to 65535, got "65536"'],
    ['a port that is not a number', {}, ['--admin-port', 'http'], 'ADMIN_PORT (--admin-port): must be an integer from 0 to 65535, got "http"'],
    ['a negative port', {}, ['--port=-1'], 'PORT (--port): must be an integer from 0 to 65535, got "-1"'],
    ['a pool of 0', { TOKEN_POOL_SIZE: '0' }, [], 'TOKEN_POOL_SIZE (--pool-size): must be auto or an integer from 1 to 256, got "0"'],
    ['a pool of 257', { TOKEN_POOL_SIZE: '257' }, [], 'TOKEN_POOL_SIZE (--pool-size): must be auto or an integer from 1 to 256, got "257"'],
    ['a fractional pool', { TOKEN_POOL_SIZE: '1.5' }, [], 'TOKEN_POOL_SIZE (--pool-size): must be auto or an integer from 1 to 256, got "1.5"'],
    ['a pool size of "max"', { TOKEN_POOL_SIZE: 'max' }, [], 'TOKEN_POOL_SIZE (--pool-size): must be auto or an integer from 1 to 256, got "max"'],
    ['a pool ceiling of 0', { TOKEN_POOL_MAX: '0' }, [], 'TOKEN_POOL_MAX (--pool-max): must be an integer from 1 to 256, got "0"'],
    ['a pool ceiling of auto', {}, ['--pool-max', 'auto'], 'TOKEN_POOL_MAX (--pool-max): must be an integer from 1 to 256, got "auto"'],
    ['a per-token limit of 0', { RATE_LIMIT_PER_TOKEN: '0' }, [], 'RATE_LIMIT_PER_TOKEN (--rate-limit-per-token): must be an integer of at least 1, got "0"'],
    ['a per-token limit per second', { RATE_LIMIT_PER_TOKEN: '5/s' }, [], 'RATE_LIMIT_PER_TOKEN (--rate-limit-per-token): must be an integer of at least 1, got "5/s"'],
    ['an unknown policy', { RATE_LIMIT_POLICY: 'retry' }, [], 'RATE_LIMIT_POLICY (--rate-limit-policy): must be one of pass, wait, reject, got "retry"'],
    ['a negative wait', { RATE_LIMIT_MAX_WAIT_MS: '-5' }, [], 'RATE_LIMIT_MAX_WAIT_MS (--rate-limit-max-wait-ms): must be an integer of at least 0, got "-5"'],
    ['REFRESH_AT of 0', { REFRESH_AT: '0' }, [], 'REFRESH_AT (--refresh-at): must be a number from 0.1 to 0.95, got "0"'],
    ['REFRESH_AT of 1', { REFRESH_AT: '1' }, [], 'REFRESH_AT (--refresh-at): must be a number from 0.1 to 0.95, got "1"'],
    ['REFRESH_AT above 0.95', { REFRESH_AT: '0.96' }, [], 'REFRESH_AT (--refresh-at): must be a number from 0.1 to 0.95, got "0.96"'],
    ['REFRESH_AT as a percentage', { REFRESH_AT: '80%' }, [], 'REFRESH_AT (--refresh-at): must be a number from 0.1 to 0.95, got "80%"'],
    ['no workers', { WORKERS: '0' }, [], 'WORKERS (--workers): must be a positive integer or auto, got "0"'],
    ['a word for workers', { WORKERS: 'all' }, [], 'WORKERS (--workers): must be a positive integer or auto, got "all"'],
    ['an unknown log level', { LOG_LEVEL: 'verbose' }, [], 'LOG_LEVEL (--log-level): must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
    ['an unknown log format', { LOG_FORMAT: 'xml' }, [], 'LOG_FORMAT (--log-format): must be one of json, pretty, got "xml"'],
    ['protected mode neither on nor off', { PROTECTED_MODE: 'maybe' }, [], 'PROTECTED_MODE (--protected-mode): must be on or off (also true/false, yes/no, 1/0), got "maybe"'],
    ['an unknown grant', { OAUTH_GRANT: 'password' }, [], 'OAUTH_GRANT (--grant): must be one of client_credentials, refresh_token, jwt_bearer, got "password"'],
    ['an unknown region', { GENESYSCLOUD_REGION: 'mars' }, [], 'GENESYSCLOUD_REGION (--region): must be a Genesys region as domain (euw2.pure.cloud), AWS-style name (eu-west-2) or SDK key (eu_west_2), got "mars"'],
    ['an upstream that is not http(s)', { UPSTREAM_URL: 'ftp://example.com' }, [], 'UPSTREAM_URL (--upstream): must be an absolute http(s) URL, got "ftp://example.com"'],
    ['a relative upstream', { UPSTREAM_URL: '/api' }, [], 'UPSTREAM_URL (--upstream): must be an absolute http(s) URL, got "/api"'],
    ['an upstream with a query', { UPSTREAM_URL: 'https://example.com/api?x=1' }, [], 'UPSTREAM_URL (--upstream): must not have a query or fragment (a path prefix is fine), got "https://example.com/api?x=1"'],
    ['an upstream with a fragment', { UPSTREAM_URL: 'https://example.com/#top' }, [], 'UPSTREAM_URL (--upstream): must not have a query or fragment (a path prefix is fine), got "https://example.com/#top"'],
    ['an upstream with credentials', { UPSTREAM_URL: `https://user:${SECRET}@example.com` }, [], 'UPSTREAM_URL (--upstream): must not contain user:password@ (the sidecar authenticates itself), got "https://user:<hidden>@example.com"'],
    ['a relative token URL', { TOKEN_URL: 'login/oauth/token' }, [], 'TOKEN_URL (--token-url): must be an absolute http(s) URL, got "login/oauth/token"'],
    ['a token URL with a fragment', { TOKEN_URL: 'https://login.example.com/oauth/token#x' }, [], 'TOKEN_URL (--token-url): must not have a fragment, got "https://login.example.com/oauth/token#x"'],
    ['a Redis URL of another scheme', { REDIS_URL: 'redis://a:6379,http://b' }, [], 'REDIS_URL (--redis): entry 2 is not a redis:// or rediss:// URL, got "redis://a:6379,http://b"'],
    ['Redis entries that are not URLs', { REDIS_URL: 'localhost:6379,redis://' }, [], 'REDIS_URL (--redis): entries 1, 2 are not redis:// or rediss:// URLs, got "localhost:6379,redis://"'],
    ['a key prefix with a brace', { REDIS_KEY_PREFIX: 'sidecar{x}' }, [], 'REDIS_KEY_PREFIX (--redis-key-prefix): must be 1 to 64 of A-Z a-z 0-9 _ . : -, got "sidecar{x}"'],
    ['an upstream timeout of 0', { UPSTREAM_TIMEOUT_MS: '0' }, [], 'UPSTREAM_TIMEOUT_MS (--upstream-timeout-ms): must be an integer of at least 1, got "0"'],
    ['no upstream connections', { UPSTREAM_CONNECTIONS: '0' }, [], 'UPSTREAM_CONNECTIONS (--upstream-connections): must be an integer of at least 1, got "0"'],
    ['a token timeout in seconds', { TOKEN_TIMEOUT_MS: '10s' }, [], 'TOKEN_TIMEOUT_MS (--token-timeout-ms): must be an integer of at least 1, got "10s"'],
    ['a negative replay limit', { REPLAY_BODY_LIMIT: '-1' }, [], 'REPLAY_BODY_LIMIT (--replay-body-limit): must be an integer of at least 0, got "-1"'],
    ['a fractional shutdown timeout', { SHUTDOWN_TIMEOUT_MS: '1.5' }, [], 'SHUTDOWN_TIMEOUT_MS (--shutdown-timeout-ms): must be an integer of at least 0, got "1.5"'],
    ['a request cap of 0', { MAX_REQUESTS: '0' }, [], 'MAX_REQUESTS (--max-requests): must be an integer of at least 1, got "0"'],
    ['a test window without a time zone', { TEST_WINDOW: '23:00-05:00' }, [], 'TEST_WINDOW (--test-window): must be HH:MM-HH:MM and an IANA time zone, e.g. "23:00-05:00 America/Chicago" (24-hour clock), got "23:00-05:00"'],
    ['a test window in an unknown zone', { TEST_WINDOW: '23:00-05:00 America/Springfield' }, [], 'TEST_WINDOW (--test-window): names an unknown time zone "America/Springfield" (use an IANA name such as Europe/London or UTC), got "23:00-05:00 America/Springfield"'],
    ['a test window at 24:00', { TEST_WINDOW: '22:00-24:00 UTC' }, [], 'TEST_WINDOW (--test-window): must be HH:MM-HH:MM and an IANA time zone, e.g. "23:00-05:00 America/Chicago" (24-hour clock), got "22:00-24:00 UTC"'],
    ['an empty test window', { TEST_WINDOW: '10:00-10:00 UTC' }, [], 'TEST_WINDOW (--test-window): must end at another time than it starts (leave it unset for no window), got "10:00-10:00 UTC"'],
    ['no client id', { GENESYSCLOUD_OAUTHCLIENT_ID: '' }, [], 'GENESYSCLOUD_OAUTHCLIENT_ID (--client-id): required'],
    ['no client secret', { GENESYSCLOUD_OAUTHCLIENT_SECRET: undefined }, [], 'GENESYSCLOUD_OAUTHCLIENT_SECRET (--client-secret) or GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE (--client-secret-file): required'],
    ['the refresh_token grant without a refresh token', { OAUTH_GRANT: 'refresh_token' }, [], 'OAUTH_REFRESH_TOKEN (--refresh-token) or OAUTH_REFRESH_TOKEN_FILE (--refresh-token-file): required by the refresh_token grant'],
    ['a token pool with the refresh_token grant', { OAUTH_GRANT: 'refresh_token', OAUTH_REFRESH_TOKEN: SECRET, TOKEN_POOL_SIZE: '2' }, [], 'TOKEN_POOL_SIZE (--pool-size): must be 1 with the refresh_token grant (one refresh token is one rotation chain), got 2'],
    ['a refresh token without its grant', { OAUTH_REFRESH_TOKEN: SECRET }, [], 'OAUTH_REFRESH_TOKEN (--refresh-token) or OAUTH_REFRESH_TOKEN_FILE (--refresh-token-file): only used by the refresh_token grant, but the grant is client_credentials'],
    ['a secret given both directly and as a file', { GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: '/run/secrets/x' }, [], 'GENESYSCLOUD_OAUTHCLIENT_SECRET (--client-secret) and GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE (--client-secret-file): give one, not both'],
    ['an unknown flag', {}, ['--verbose'], '--verbose: unknown flag (see --help)'],
    ['an unknown flag with a value', {}, ['--colour', 'red'], '--colour: unknown flag (see --help)'],
    ['a single-dash flag', {}, ['-p', '80'], '-p: unknown flag (see --help)'],
    ['a flag without a value', {}, ['--port'], 'PORT (--port): needs a value (--flag value or --flag=value)'],
    ['a flag followed by another flag', {}, ['--host', '--port', '1'], 'HOST (--host): needs a value (--flag value or --flag=value)'],
    ['a stray argument', {}, ['serve'], 'argument 1: unexpected (settings are --flag value or --flag=value)'],
  ];
  for (const [wrong, env, argv, problem] of rules) {
    it(`rejects ${wrong}, naming the setting and the rule`, () => {
      assert.deepEqual(problemsOf(env, argv), [problem]);
    });
  }

  it('reports every problem at once, one named line each', () => {
    const problems = problemsOf(
      { PORT: '99999', TOKEN_POOL_SIZE: '0', REFRESH_AT: '2', LOG_LEVEL: 'loud', GENESYSCLOUD_OAUTHCLIENT_ID: undefined },
      ['--workers', 'many', '--nope'],
    );
    const named = ['PORT', 'TOKEN_POOL_SIZE', 'REFRESH_AT', 'LOG_LEVEL', 'GENESYSCLOUD_OAUTHCLIENT_ID', 'WORKERS', '--nope'];
    assert.equal(problems.length, named.length, problems.join('\n'));
    for (const name of named) assert.ok(problems.some((line) => line.startsWith(name)), `${name} in\n${problems.join('\n')}`);
  });

  it('puts every problem in the error message too', () => {
    assert.throws(() => load({ PORT: 'x', WORKERS: 'y' }), (error: Error) =>
      error.name === 'ConfigError' && error.message.includes('PORT (--port)') && error.message.includes('WORKERS (--workers)'));
  });

  it('never shows a secret in a problem, even when the secret is the value at fault', () => {
    const secretFile = tempFile('secret-for-leak-test', SECRET);
    const cases: ReadonlyArray<readonly [Env, string[]]> = [
      [{}, ['--client-secret', SECRET, 'stray-half-of-it']],
      [{ OAUTH_REFRESH_TOKEN: SECRET }, []],
      [{ INBOUND_API_KEY: SECRET, HOST: '0.0.0.0', PORT: 'x' }, []],
      [{ GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: secretFile }, []],
      [{ REDIS_URL: `redis://:${SECRET}@a:6379,bad` }, []],
      [{ UPSTREAM_URL: `https://u:${SECRET}@a.example/?q` }, []],
      [{ TOKEN_URL: `ftp://u:${SECRET}@a.example/` }, []],
    ];
    for (const [env, argv] of cases) {
      const problems = problemsOf(env, argv);
      assert.ok(problems.length > 0);
      for (const line of problems) assert.ok(!line.includes(SECRET), line);
    }
  });
});

describe('loadConfig token pool', () => {
  it('with the refresh_token grant, auto means one fixed token', () => {
    const profile = load({ OAUTH_GRANT: 'refresh_token', OAUTH_REFRESH_TOKEN: SECRET }).profiles[0];
    assert.deepEqual([profile?.poolSize, profile?.poolAuto], [1, false]);
    const fixed = load({ OAUTH_GRANT: 'refresh_token', OAUTH_REFRESH_TOKEN: SECRET, TOKEN_POOL_SIZE: '1' }).profiles[0];
    assert.deepEqual([fixed?.poolSize, fixed?.poolAuto], [1, false]);
  });

  it('leaves rateLimitPerToken out when it is not set, so the upstream\'s headers decide', () => {
    assert.ok(!('rateLimitPerToken' in (load({}).profiles[0] ?? {})));
  });
});

describe('loadConfig protected mode', () => {
  // [HOST, ADMIN_HOST, extra env, the settings named by problems]
  const cases: ReadonlyArray<readonly [string, string | undefined, Env, string[]]> = [
    ['127.0.0.1', undefined, {}, []],
    ['127.8.9.10', undefined, {}, []],
    ['localhost', undefined, {}, []],
    ['LOCALHOST', undefined, {}, []],
    ['::1', undefined, {}, []],
    ['0.0.0.0', undefined, {}, ['HOST']],
    ['::', undefined, {}, ['HOST']],
    ['192.168.1.20', undefined, {}, ['HOST']],
    ['sidecar.internal', undefined, {}, ['HOST']],
    ['0.0.0.0', undefined, { INBOUND_API_KEY: 'k' }, []],
    ['0.0.0.0', undefined, { PROTECTED_MODE: 'off' }, []],
    ['127.0.0.1', '0.0.0.0', {}, ['ADMIN_HOST']],
    ['0.0.0.0', '0.0.0.0', {}, ['HOST', 'ADMIN_HOST']],
    ['0.0.0.0', '127.0.0.1', {}, ['HOST']],
    ['127.0.0.1', '0.0.0.0', { INBOUND_API_KEY: 'k' }, []],
    ['127.0.0.1', '0.0.0.0', { PROTECTED_MODE: 'false' }, []],
  ];
  for (const [host, adminHost, env, named] of cases) {
    const setup = `HOST=${host}${adminHost ? ` ADMIN_HOST=${adminHost}` : ''}${Object.entries(env).map(([k, v]) => ` ${k}=${v}`).join('')}`;
    it(`${named.length === 0 ? 'starts' : `refuses (naming ${named.join(', ')})`} with ${setup}`, () => {
      const all = { HOST: host, ADMIN_HOST: adminHost, ...env };
      if (named.length === 0) {
        assert.equal(load(all).host, host);
        return;
      }
      const problems = problemsOf(all);
      assert.deepEqual(problems.map((line) => line.slice(0, line.indexOf(' '))), named);
      assert.ok(problems.every((line) => line.includes('INBOUND_API_KEY (--inbound-key) is required (or PROTECTED_MODE=off)')));
    });
  }

  it('says which address is not a loopback address', () => {
    assert.deepEqual(problemsOf({ HOST: '0.0.0.0' }), [
      'HOST (--host): "0.0.0.0" is not a loopback address, so INBOUND_API_KEY (--inbound-key) is required (or PROTECTED_MODE=off)',
    ]);
  });
});

describe('loadConfig result', () => {
  it('is frozen all the way down', () => {
    const config = load({ REDIS_URL: 'redis://a:6379' });
    for (const part of [config, config.profiles, config.profiles[0], config.redisUrls]) assert.ok(Object.isFrozen(part));
    assert.throws(() => { (config as { port: number }).port = 1; }, TypeError);
    assert.throws(() => { (config.profiles[0] as { clientId: string }).clientId = 'x'; }, TypeError);
    assert.throws(() => { (config.redisUrls as string[]).push('redis://b'); }, TypeError);
  });

  it('leaves inboundApiKey and refreshToken out when they are not set', () => {
    const config = load({});
    assert.ok(!('inboundApiKey' in config));
    assert.ok(!('refreshToken' in (config.profiles[0] ?? {})));
  });
});
