import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/config/load.js';
import { cliArgsOf, healthTarget } from '../src/healthcheck.js';
import { MockUsageError } from '../src/mock/options.js';

// The environment the image gives `serve` (HOST=0.0.0.0 needs the inbound key) plus credentials.
const imageEnv = {
  NODE_ENV: 'production',
  HOST: '0.0.0.0',
  ADMIN_HOST: '0.0.0.0',
  INBOUND_API_KEY: 'k'.repeat(32),
  GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
  GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
};

test('the CLI arguments are found after the script, with or without an init process in front', () => {
  assert.deepEqual(cliArgsOf(['node', 'dist/cli.js', 'serve', '--admin-port', '9500']), ['serve', '--admin-port', '9500']);
  assert.deepEqual(cliArgsOf(['/sbin/docker-init', '--', 'node', 'dist/cli.js', 'mock']), ['mock']);
  assert.deepEqual(cliArgsOf(['/usr/local/bin/node', '/app/dist/cli.js']), []);
  assert.equal(cliArgsOf(['node', 'dist/healthcheck.js']), undefined);
  assert.equal(cliArgsOf(['node', 'dist/notcli.js']), undefined);
});

test('serve is asked /healthz on its admin port: the flag wins over ADMIN_PORT, which wins over the default', () => {
  assert.deepEqual(healthTarget(['serve'], imageEnv), { url: 'http://127.0.0.1:9464/healthz' });
  assert.deepEqual(healthTarget([], imageEnv), { url: 'http://127.0.0.1:9464/healthz' }, 'the image CMD is serve; no command means serve too');
  assert.deepEqual(healthTarget(['serve'], { ...imageEnv, ADMIN_PORT: '9600' }), { url: 'http://127.0.0.1:9600/healthz' });
  assert.deepEqual(healthTarget(['serve', '--admin-port', '9500'], { ...imageEnv, ADMIN_PORT: '9600' }), { url: 'http://127.0.0.1:9500/healthz' });
  assert.deepEqual(healthTarget(['--admin-port=9501', '--port', '8081'], imageEnv), { url: 'http://127.0.0.1:9501/healthz' });
});

test('serve is asked on the admin address it binds unless that is every interface', () => {
  assert.deepEqual(healthTarget(['serve'], { ...imageEnv, ADMIN_HOST: '127.0.0.2' }), { url: 'http://127.0.0.2:9464/healthz' });
  assert.deepEqual(healthTarget(['serve'], { ...imageEnv, ADMIN_HOST: '::' }), { url: 'http://[::1]:9464/healthz' });
  const { ADMIN_HOST: _unset, ...sameAsProxy } = imageEnv;
  assert.deepEqual(healthTarget(['serve', '--host', '127.0.0.3'], sameAsProxy), { url: 'http://127.0.0.3:9464/healthz' }, 'ADMIN_HOST defaults to HOST');
});

test('the mock, which has no admin port, is asked /__stats on its own port', () => {
  assert.deepEqual(healthTarget(['mock'], imageEnv), { url: 'http://127.0.0.1:9000/__stats' });
  assert.deepEqual(healthTarget(['mock', '--host', '0.0.0.0', '--port', '9100'], imageEnv), { url: 'http://127.0.0.1:9100/__stats' });
  assert.deepEqual(healthTarget(['mock'], { ...imageEnv, MOCK_PORT: '9200', ADMIN_PORT: '9600' }), { url: 'http://127.0.0.1:9200/__stats' });
});

test('the demo has no port of its own to ask', () => {
  const target = healthTarget(['demo'], imageEnv);
  assert.equal(target.url, undefined);
});

test("settings the command could not have started with make the check fail with the command's own error", () => {
  assert.throws(() => healthTarget(['serve', '--admin-port', 'x'], imageEnv), ConfigError);
  assert.throws(() => healthTarget(['serve'], { ...imageEnv, INBOUND_API_KEY: undefined }), ConfigError, 'protected mode');
  assert.throws(() => healthTarget(['mock', '--port', 'x'], imageEnv), MockUsageError);
});
