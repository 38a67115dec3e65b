import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadDuring } from '../helpers/load-during.js';
import { RedisNode, stopAllRedisNodes } from '../helpers/redis-server.js';
import { startTokenFleet } from '../helpers/token-fleet.js';

// A client secret rotated the way Kubernetes rotates a Secret mounted as files: the new files are
// written into a fresh directory and the `..data` symlink is swapped to it in one rename; the
// mounted name `client-secret` is a symlink through `..data`. The provider refuses the old secret
// from that moment. Two sidecars share the token through Redis under load.
const OLD_SECRET = 'old-secret-7f3a9c1e5b';
const NEW_SECRET = 'new-secret-2d8e4b6a0c';

after(() => stopAllRedisNodes());

/** A Secret volume as the kubelet lays it out; `rotate` swaps in new content atomically. */
function secretVolume(secret: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-secret-'));
  let version = 0;
  const publish = (value: string) => {
    const data = `..${version++}`;
    mkdirSync(join(dir, data));
    writeFileSync(join(dir, data, 'client-secret'), `${value}\n`);
    symlinkSync(data, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  publish(secret);
  symlinkSync(join('..data', 'client-secret'), join(dir, 'client-secret'));
  return { file: join(dir, 'client-secret'), rotate: publish };
}

test('a client secret rotated on disk during a load: no client error, the next token request carries the new secret, no secret logged', async (t) => {
  const node = await RedisNode.start();
  const volume = secretVolume(OLD_SECRET);
  const fleet = await startTokenFleet(
    // Empty is "not set": the file is the only secret.
    { REDIS_URL: node.url, GENESYSCLOUD_OAUTHCLIENT_SECRET: '', GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: volume.file, LOG_LEVEL: 'debug' },
    { mock: { clientSecret: OLD_SECRET } },
  );
  const { result, outcome } = await loadDuring({ clients: 50, step: fleet.step }, async () => {
    await fleet.refreshes(1, 'a refresh with the old secret under load');
    // Right after a refresh, so no token request falls between the two steps.
    volume.rotate(NEW_SECRET);
    const rotated = await fetch(`${fleet.mockUrl}/__client-secret`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: NEW_SECRET }),
    });
    assert.equal(rotated.status, 204);
    const before = fleet.tokenRequests.length;
    await fleet.refreshes(2, 'two refreshes after the rotation under load');
    return { afterRotation: fleet.tokenRequests.slice(before).map((request) => request.status) };
  });
  const figures = fleet.figures();
  const output = fleet.sidecars.map((sidecar) => sidecar.proc.output()).join('\n');
  t.diagnostic(JSON.stringify({ mode: 'secret rotated', ...result, ...figures, ...outcome }));
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.deepEqual(outcome.afterRotation.slice(0, 2), [200, 200], 'the token requests after the rotation were accepted: they carried the new secret');
  assert.equal(figures.non200, 0, 'no token request was refused: the old secret was never sent after the rotation');
  for (const secret of [OLD_SECRET, NEW_SECRET]) {
    assert.ok(!output.includes(secret), 'a secret in the sidecars\' output');
    assert.ok(!output.includes(Buffer.from(`demo-client:${secret}`).toString('base64')), 'a Basic credential in the sidecars\' output');
  }
});
