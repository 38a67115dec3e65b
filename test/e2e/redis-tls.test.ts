import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadDuring } from '../helpers/load-during.js';
import { startCli } from '../helpers/processes.js';
import { RedisNode, stopAllRedisNodes } from '../helpers/redis-server.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.js';
import { REFRESH_INTERVAL_MS, startTokenFleet } from '../helpers/token-fleet.js';

// Redis over TLS with the test's own CA (as a managed service's), then with mutual TLS (the server
// wants a client certificate): two sidecars share one token through it under load.
const CLIENTS = 50;

let certs: TestCertificates;
before(() => {
  certs = makeTestCertificates();
});
after(() => stopAllRedisNodes());

async function fleetOverTls(authClients: boolean) {
  const node = await RedisNode.start({
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile, authClients },
  });
  const env: Record<string, string> = { REDIS_URL: node.tlsUrl, REDIS_TLS_CA_FILE: certs.caFile };
  if (authClients) Object.assign(env, { REDIS_TLS_CERT_FILE: certs.clientCertFile, REDIS_TLS_KEY_FILE: certs.clientKeyFile });
  return startTokenFleet(env);
}

for (const mutual of [false, true]) {
  test(`two sidecars on Redis over ${mutual ? 'mutual ' : ''}TLS serve a load across two refreshes with no error and one token request per refresh`, async (t) => {
    const fleet = await fleetOverTls(mutual);
    const { result } = await loadDuring({ clients: CLIENTS, step: fleet.step }, () => fleet.refreshes(2, 'two refreshes under load'));
    const figures = fleet.figures();
    const redisUp = await fleet.redisUp();
    t.diagnostic(JSON.stringify({ mode: mutual ? 'mutual TLS' : 'TLS', ...result, ...figures, redisUp }));
    assert.deepEqual(redisUp, [1, 1], 'both work through the store');
    assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
    assert.equal(figures.non200, 0);
    assert.ok(figures.tokenRequests <= figures.ideal, `${figures.tokenRequests} token requests, ideal ${figures.ideal}`);
    assert.ok(figures.closestMs! > REFRESH_INTERVAL_MS / 2, `two token requests ${figures.closestMs} ms apart: one refresh fetched twice`);
  });
}

test('a CA that did not sign the Redis certificate stops the sidecar at start, naming the setting and the file (exit 2)', async () => {
  const node = await RedisNode.start({ tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile, authClients: false } });
  const proc = startCli([], {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client', GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: 'http://127.0.0.1:9', PORT: '0', ADMIN_PORT: '0',
    REDIS_URL: node.tlsUrl, REDIS_TLS_CA_FILE: certs.otherCaFile,
  });
  assert.equal(await proc.exited, 2);
  const stderr = proc.output();
  assert.match(stderr, /REDIS_TLS_CA_FILE \(--redis-tls-ca-file\): the certificate of Redis 127\.0\.0\.1:\d+ is not signed by the CA in ".*other-ca\.crt"/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
});

test('mutual TLS without a client certificate, and a key that is not the certificate\'s, stop the sidecar at start (exit 2)', async () => {
  const node = await RedisNode.start({ tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile, authClients: true } });
  const base = {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client', GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: 'http://127.0.0.1:9', PORT: '0', ADMIN_PORT: '0', REDIS_URL: node.tlsUrl, REDIS_TLS_CA_FILE: certs.caFile,
  };
  const noCert = startCli([], base);
  assert.equal(await noCert.exited, 2);
  assert.match(noCert.output(), /REDIS_TLS_CERT_FILE \(--redis-tls-cert-file\): Redis 127\.0\.0\.1:\d+ requires a client certificate/);
  const wrongKey = startCli([], { ...base, REDIS_TLS_CERT_FILE: certs.clientCertFile, REDIS_TLS_KEY_FILE: certs.serverKeyFile });
  assert.equal(await wrongKey.exited, 2);
  assert.match(wrongKey.output(), /REDIS_TLS_KEY_FILE \(--redis-tls-key-file\): does not belong to the certificate in REDIS_TLS_CERT_FILE/);
});
