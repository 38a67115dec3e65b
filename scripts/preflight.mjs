#!/usr/bin/env node
// What `npm test` needs besides Node and the npm packages, checked before anything is built:
//   redis-server          (Debian package redis-server)  the store, lock and fleet tests start their own
//   promtool, prometheus  (Debian package prometheus)    metrics format, alert rules, a real scrape
//   chromium              (Debian package chromium)      the login test drives a real browser
//   xmllint               (Debian package libxml2-utils) the report's JUnit file against the published schemas
//   tmux                  (Debian package tmux)          `top` drawn in a real terminal, its screen read back
//
// Whatever is missing is installed with apt-get when this process may (root, or passwordless sudo,
// on a machine with apt-get); otherwise it stops at once, naming each missing program, its package
// and the one command that installs them all. Run alone: node scripts/preflight.mjs
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, writeFileSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each program the tests run, and the Debian package that brings it. */
const NEEDED = [
  { program: 'redis-server', pkg: 'redis-server' },
  { program: 'promtool', pkg: 'prometheus' },
  { program: 'prometheus', pkg: 'prometheus' },
  // test/login/browser.test.ts starts CHROMIUM_PATH, else /usr/bin/chromium.
  { program: 'chromium', pkg: 'chromium', path: process.env.CHROMIUM_PATH },
  { program: 'xmllint', pkg: 'libxml2-utils' },
  { program: 'tmux', pkg: 'tmux' },
];

function onPath(program) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

const present = ({ program, path }) => (path ? existsSync(path) : onPath(program));
const missingNow = () => NEEDED.filter((need) => !present(need));

/** `[]` as root, `['sudo', '-n']` with passwordless sudo, undefined when packages cannot be installed. */
function installer() {
  if (!onPath('apt-get')) return undefined;
  if (process.getuid?.() === 0) return [];
  if (onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return ['sudo', '-n'];
  return undefined;
}

function run(prefix, args) {
  const [command, ...rest] = [...prefix, ...args];
  const result = spawnSync(command, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return result.status === 0;
}

export function preflight() {
  const missing = missingNow();
  if (missing.length === 0) return true;
  const packages = [...new Set(missing.map((need) => need.pkg))];
  const command = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  const named = missing.map((need) => `${need.program} (package ${need.pkg})`).join(', ');
  const prefix = installer();
  if (prefix === undefined) {
    console.error(`npm test needs programs this machine lacks: ${named}.\nInstall them as root with:\n  ${command}`);
    return false;
  }
  console.error(`npm test needs ${named}: installing ${packages.join(' ')} with apt-get`);
  // The tests start their own redis-server and prometheus on free loopback ports: keep the packages'
  // services from being started by their install scripts, unless a policy is already in place.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = prefix.length === 0 && !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const installed = run(prefix, ['apt-get', 'update', '-qq']) &&
      run(prefix, ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages]);
    const still = missingNow();
    if (installed && still.length === 0) return true;
    console.error(`still missing after apt-get: ${still.map((need) => need.program).join(', ') || '(apt-get failed)'}; install them with:\n  ${command}`);
    return false;
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(preflight() ? 0 : 1);
