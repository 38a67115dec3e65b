/**
 * REDIS_PASSWORD_FILE rotated while the store runs: the user's password is changed in Redis, the
 * file replaced, and the store's connections dropped by Redis; the store connects again with the
 * new password, without being rebuilt.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SecretFile } from '../../src/config/secret-file.js';
import { secretText } from '../../src/config/rotating-secrets.js';
import { waitFor } from '../../src/harness/wait-for.js';
import { tokenKey } from '../../src/store/key.js';
import { RedisTokenStore } from '../../src/store/redis.js';
import { RedisNode, stopAllRedisNodes } from '../helpers/redis-server.js';

after(stopAllRedisNodes);

test('a replaced password file is used by the next connection', async () => {
  const node = await RedisNode.start();
  const admin = new Redis(node.url);
  after(() => admin.disconnect());
  await admin.call('ACL', 'SETUSER', 'rotating', 'on', '>first-password', '~*', '&*', '+@all');
  const path = join(mkdtempSync(join(tmpdir(), 'sidecar-redis-pw-')), 'password');
  writeFileSync(path, 'first-password\n');
  const password = new SecretFile(path, 'REDIS_PASSWORD_FILE', secretText, 'first-password');
  const store = new RedisTokenStore({ connection: { target: { mode: 'nodes', urls: [`redis://rotating@127.0.0.1:${node.port}`] }, password } });
  after(() => store.close());
  const key = tokenKey('pw-test', { tokenUrl: 'https://login.example/oauth/token', clientId: 'c', profile: 'default', slot: 0 });
  const token = (generation: number) => ({ accessToken: `a${generation}`, issuedAt: Date.now(), expiresAt: Date.now() + 60_000, generation, fetchedBy: 'test' });
  assert.equal(await store.putIfNewer(key, token(1)), true);

  await admin.call('ACL', 'SETUSER', 'rotating', 'resetpass', '>second-password');
  writeFileSync(`${path}.new`, 'second-password\n');
  renameSync(`${path}.new`, path);
  await admin.call('CLIENT', 'KILL', 'USER', 'rotating');
  await waitFor(async () => (await store.putIfNewer(key, token(2)).catch(() => false)) === true, {
    timeoutMs: 10_000, intervalMs: 100, what: 'the store writing again after reconnecting with the new password',
  });
  assert.equal((await store.get(key))?.generation, 2);
});
