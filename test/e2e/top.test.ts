import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { getStatus } from '../../src/demo/load.js';
import { waitFor } from '../../src/harness/wait-for.js';
import { loadDuring } from '../helpers/load-during.js';
import { CLI, startMock, startSidecar } from '../helpers/processes.js';

// `token-sidecar top` drawn in a real terminal: a tmux server of its own (private socket) runs it in
// a 160×30 pane while a load goes through two sidecars; the test reads the screen with capture-pane,
// then presses q and checks that top ended with exit code 0. Without a TTY it prints one line per
// interval.
const SOCKET = `token-sidecar-top-test-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'top-e2e-'));
const processes: Array<{ stop(signal: NodeJS.Signals): Promise<unknown> }> = [];
after(() => Promise.all(processes.map((proc) => proc.stop('SIGKILL'))));
after(() => {
  tmux('kill-server');
  rmSync(dir, { recursive: true, force: true });
});

function tmux(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', TERM: 'xterm-256color', HOME: dir } });
  if (run.error) throw new Error(`tmux is needed (Debian package tmux; .ci/run installs it): ${run.error.message}`);
  return run;
}

async function fleet() {
  const mock = await startMock();
  processes.push(mock.proc);
  const sidecars = await Promise.all([0, 1].map(() => startSidecar(mock.url)));
  processes.push(...sidecars.map((s) => s.proc));
  return sidecars;
}

test('top in a terminal shows each instance and the total with the load’s request rate, and q quits it with exit 0', async (t) => {
  const sidecars = await fleet();
  const admins = sidecars.map((s) => s.adminUrl).join(',');
  const exitFile = join(dir, 'exit');
  const command = `${process.execPath} ${CLI} top --admin ${admins}; echo "exit=$?" > ${exitFile}`;
  const started = tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '30', command);
  assert.equal(started.status, 0, started.stderr);
  const screen = () => tmux('capture-pane', '-p', '-t', 'top').stdout;
  const hosts = sidecars.map((s) => new URL(s.adminUrl).host);

  const { outcome: seen } = await loadDuring(
    { clients: 10, intervalMs: 20, step: (i, dispatcher) => getStatus(dispatcher, `${sidecars[i % 2]!.url}/api/v2/tokens/me`), maxMs: 60_000 },
    async () => {
      let text = '';
      await waitFor(
        () => {
          text = screen();
          const total = /^TOTAL\s+([\d.]+)\s+([\d.]+)/m.exec(text);
          return total !== null && Number(total[1]) > 0 && Number(total[2]) > 0 && hosts.every((host) => new RegExp(`^${host}\\s+[\\d.]+`, 'm').test(text));
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'top showing both instances and a request rate in its TOTAL row' },
      );
      return text;
    },
  );
  t.diagnostic(seen.trimEnd());
  assert.match(seen, /^token-sidecar top: 2 instances/m);
  assert.match(seen, /req\/s\s+2xx\/s/);
  // Pool of one token, held a few seconds: its age and planned refresh are shown.
  assert.match(seen, /^TOTAL(\s+\S+){7}\s+1\s+\S+\s+\d+s\s+\d+h\d\dm/m);

  tmux('send-keys', '-t', 'top', 'q');
  await waitFor(() => { try { return readFileSync(exitFile, 'utf8').trim() === 'exit=0'; } catch { return false; } }, { timeoutMs: 10_000, what: 'top to quit on q with exit 0' });
});

test('without a terminal top prints one line per interval for the fleet', async () => {
  const sidecars = await fleet();
  const run = spawnSync(process.execPath, [CLI, 'top', '--admin', sidecars.map((s) => s.adminUrl).join(','), '--count', '2', '--interval', '0.5'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 2, run.stdout);
  for (const line of lines) assert.match(line, /^\S+Z instances=2\/2 req\/s=[\d.]+ .* pool=1 .* token_age=\d+s refresh_in=\S+ replays=0/);
});
