import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.js';

type Env = Record<string, string | undefined>;
const CREDENTIALS: Env = { GENESYSCLOUD_OAUTHCLIENT_ID: 'client-1', GENESYSCLOUD_OAUTHCLIENT_SECRET: 'S3cr3t' };
const load = (env: Env) => loadConfig([], { ...CREDENTIALS, ...env });

function problemsOf(env: Env): string[] {
  try {
    load(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'sidecar-redis-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let certs: TestCertificates;
before(() => {
  certs = makeTestCertificates();
});

describe('Redis settings: one mode, said one way', () => {
  it('reads the three modes', () => {
    assert.deepEqual(load({ REDIS_URL: 'redis://a:6379,redis://b:6379' }).redis?.target, { mode: 'nodes', urls: ['redis://a:6379', 'redis://b:6379'] });
    assert.deepEqual(load({ REDIS_SENTINELS: 's1,s2:26380', REDIS_SENTINEL_NAME: 'mymaster' }).redis?.target, {
      mode: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], name: 'mymaster',
    });
    const cluster = load({ REDIS_CLUSTER: 'rediss://user:p%40ss@c1:7000,rediss://user:p%40ss@c2:7001', REDIS_CLUSTER_NAT_MAP: '10.0.0.1:7000=127.0.0.1:17000' }).redis;
    assert.deepEqual(cluster?.target, { mode: 'cluster', seeds: [{ host: 'c1', port: 7000 }, { host: 'c2', port: 7001 }], natMap: { '10.0.0.1:7000': { host: '127.0.0.1', port: 17000 } } });
    assert.equal(cluster?.username, 'user');
    assert.equal(cluster?.password?.current, 'p@ss');
    assert.ok(cluster?.tls, 'rediss:// seeds turn TLS on');
    assert.equal(load({}).redis, undefined, 'no Redis setting: the memory store');
  });

  it('names every combination that cannot work', () => {
    const cases: [Env, RegExp][] = [
      [{ REDIS_URL: 'redis://a', REDIS_CLUSTER: 'c:7000' }, /^REDIS_URL \(--redis\) and REDIS_CLUSTER \(--redis-cluster\): give one/],
      [{ REDIS_SENTINELS: 's1' }, /^REDIS_SENTINEL_NAME \(--redis-sentinel-name\): required with REDIS_SENTINELS/],
      [{ REDIS_URL: 'redis://a', REDIS_SENTINEL_NAME: 'm' }, /^REDIS_SENTINEL_NAME \(--redis-sentinel-name\): only used with REDIS_SENTINELS/],
      [{ REDIS_URL: 'redis://a', REDIS_CLUSTER_NAT_MAP: 'a:1=b:2' }, /^REDIS_CLUSTER_NAT_MAP \(--redis-cluster-nat-map\): only used with REDIS_CLUSTER/],
      [{ REDIS_TLS_CA_FILE: '/x' }, /^REDIS_TLS_CA_FILE \(--redis-tls-ca-file\): only used with a Redis store/],
      [{ REDIS_URL: 'redis://a', REDIS_TLS_CA_FILE: '/x' }, /^REDIS_TLS_CA_FILE \(--redis-tls-ca-file\): only used with TLS/],
      [{ REDIS_URL: 'rediss://a', REDIS_TLS: 'off' }, /^REDIS_TLS \(--redis-tls\): off, but REDIS_URL \(--redis\) names rediss:\/\/ nodes/],
      [{ REDIS_URL: 'redis://:pw@a', REDIS_PASSWORD_FILE: '/x' }, /^REDIS_PASSWORD_FILE \(--redis-password-file\): the URL already holds a password/],
      [{ REDIS_CLUSTER: 'redis://c1:7000,rediss://c2:7000' }, /^REDIS_CLUSTER \(--redis-cluster\): mixes redis:\/\/ and rediss:\/\/ seeds/],
      [{ REDIS_CLUSTER_NAT_MAP: 'nonsense', REDIS_CLUSTER: 'c:1' }, /^REDIS_CLUSTER_NAT_MAP \(--redis-cluster-nat-map\): entry 1 is not announced-host:port=reachable-host:port/],
      [{ REDIS_SENTINELS: 'bad host:x', REDIS_SENTINEL_NAME: 'm' }, /^REDIS_SENTINELS \(--redis-sentinels\): entry 1 not host:port/],
    ];
    for (const [env, expected] of cases) {
      const problems = problemsOf(env);
      assert.ok(problems.some((problem) => expected.test(problem)), `${JSON.stringify(env)}: ${JSON.stringify(problems)}`);
    }
  });

  it('checks TLS files at start: unreadable, not PEM, a key without its certificate or not its own', () => {
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const base = { REDIS_URL: 'rediss://a:6380' };
    const cases: [Env, RegExp][] = [
      [{ ...base, REDIS_TLS_CA_FILE: join(dir, 'missing.pem') }, /^REDIS_TLS_CA_FILE \(--redis-tls-ca-file\): cannot read ".*missing\.pem" \(ENOENT\)/],
      [{ ...base, REDIS_TLS_CA_FILE: notPem }, /^REDIS_TLS_CA_FILE \(--redis-tls-ca-file\): ".*not\.pem" holds no PEM certificate/],
      [{ ...base, REDIS_TLS_KEY_FILE: certs.clientKeyFile }, /^REDIS_TLS_KEY_FILE \(--redis-tls-key-file\): needs REDIS_TLS_CERT_FILE/],
      [{ ...base, REDIS_TLS_CERT_FILE: certs.clientCertFile, REDIS_TLS_KEY_FILE: certs.serverKeyFile }, /^REDIS_TLS_KEY_FILE \(--redis-tls-key-file\): does not belong to the certificate/],
    ];
    for (const [env, expected] of cases) {
      const problems = problemsOf(env);
      assert.ok(problems.some((problem) => expected.test(problem)), `${JSON.stringify(env)}: ${JSON.stringify(problems)}`);
    }
    const ok = load({ ...base, REDIS_TLS_CA_FILE: certs.caFile, REDIS_TLS_CERT_FILE: certs.clientCertFile, REDIS_TLS_KEY_FILE: certs.clientKeyFile, REDIS_TLS_SERVERNAME: 'redis.internal' });
    assert.match(ok.redis?.tls?.ca?.current ?? '', /BEGIN CERTIFICATE/);
    assert.equal(ok.redis?.tls?.servername, 'redis.internal');
  });

  it('never shows a password given in a URL or for the sentinels', () => {
    const problems = problemsOf({ REDIS_CLUSTER: 'rediss://u:Hidden-Pw@c1:7000,rediss://u:Other-Pw@c2:7000', REDIS_SENTINEL_PASSWORD: 'Sentinel-Pw' });
    assert.ok(!JSON.stringify(problems).includes('Pw'), JSON.stringify(problems));
  });
});
