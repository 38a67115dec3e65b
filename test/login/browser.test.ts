import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { callbackPort, startLogin } from '../helpers/login.js';
import { startMock, startSidecar } from '../helpers/processes.js';

// The whole login as a person does it, in a real (headless) browser: Debian's chromium, driven by
// playwright-core. `login --no-browser` prints the authorization URL; the browser opens it, fills the
// mock's login form and approves; the mock redirects to login's loopback callback. Then a sidecar
// started on the refresh token that login wrote serves /api/v2/users/me as that user.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

test('login in headless Chromium: exit 0, a 0600 refresh token file, and a sidecar on it is that user', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'token-sidecar-browser-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const { port, redirectUris } = await callbackPort();
  const mock = await startMock(redirectUris);
  after(() => mock.proc.stop('SIGKILL'));
  const out = join(dir, 'carol.refresh-token');
  const run = startLogin(mock.url, port, ['--out', out]);
  after(() => run.proc.stop('SIGKILL'));

  const url = await run.authorizationUrl;
  assert.ok(url.startsWith(`${mock.url}/oauth/authorize?`), url);
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(url);
  await page.getByLabel('User name').fill('carol');
  await page.getByLabel('Password').fill('carol-password');
  await page.getByRole('button', { name: 'Approve' }).click();
  // The callback answers once the code is exchanged and the token stored.
  await page.getByRole('heading', { name: 'Logged in' }).waitFor();
  assert.match(await page.content(), /Logged in as Carol\./);

  assert.equal(await run.proc.exited, 0, run.proc.output());
  const lines = run.stdout().trim().split('\n');
  assert.equal(lines[0], url, 'the URL is the first line of stdout');
  assert.match(lines[1]!, /^Logged in as Carol \(id 7d1a0f5e-[0-9a-f-]+\) for profile "default"\.$/);
  assert.match(lines[2]!, /written to .*carol\.refresh-token \(mode 0600/);
  assert.equal((await stat(out)).mode & 0o777, 0o600);
  const refreshToken = (await readFile(out, 'utf8')).trim();
  assert.ok(refreshToken.length >= 20);
  assert.ok(!run.proc.output().includes(refreshToken), 'the refresh token is not printed');

  const sidecar = await startSidecar(mock.url, { OAUTH_GRANT: 'refresh_token', OAUTH_REFRESH_TOKEN_FILE: out });
  after(() => sidecar.proc.stop('SIGKILL'));
  const me = await fetch(`${sidecar.url}/api/v2/users/me`);
  assert.equal(me.status, 200);
  const user = (await me.json()) as { id: string; name: string };
  assert.equal(user.name, 'Carol');
  assert.ok(lines[1]!.includes(user.id));
});
