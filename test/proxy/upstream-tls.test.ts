import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { startRig } from '../helpers/in-process.js';

// Security by default: the upstream's TLS certificate is verified. An upstream presenting a
// certificate nobody vouches for (self-signed here) is never sent a request, let alone a token.

function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-tls-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}

test('an upstream whose TLS certificate is not trusted gets no request and the client a 502', async () => {
  let reached = 0;
  const server = createServer(selfSignedCertificate(), (_req, res) => {
    reached++;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as { port: number };

  const rig = await startRig({ profile: { upstreamUrl: `https://127.0.0.1:${port}` } });
  const response = await request(`${rig.proxyUrl}/api/v2/tokens/me`);
  const body = (await response.body.json()) as { error: string; message: string };
  assert.equal(response.statusCode, 502);
  assert.equal(body.error, 'upstream_unreachable');
  assert.equal(reached, 0, 'no request (and so no bearer token) reached the untrusted server');
});
