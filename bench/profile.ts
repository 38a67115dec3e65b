/**
 * Where a proxy's CPU goes under load: runs it with `node --cpu-prof` against the fast upstream,
 * loads it (200 closed-loop connections, or a fixed --rate so that two profiles cover the same work),
 * stops it (the profile is written on exit), and prints self time by package and by function, and the
 * inclusive time of this project's own functions. Run after `npm run build`:
 *
 *   node --import tsx bench/profile.ts [--target sidecar|bare] [--seconds 10] [--rate N] [--out DIR]
 *
 * The .cpuprofile stays in DIR (default: a new folder under the system's temp directory) for Chrome
 * DevTools or speedscope.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopAllChildren } from './lib/children.js';
import { closedLoop } from './lib/closed-loop.js';
import { summarizeCpuProfile, type TimeShare } from './lib/cpu-profile.js';
import { openLoop } from './lib/open-loop.js';
import { cpuMillisecondsOfTree } from './lib/process-stats.js';
import { formatNumber, renderText } from './lib/table.js';
import { LOAD_HEADERS, LOAD_PATH, startBareProxy, startFastUpstream, startSidecar } from './lib/targets.js';

const CONNECTIONS = 200;
const WARMUP_SECONDS = 3;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { target: { type: 'string', default: 'sidecar' }, seconds: { type: 'string', default: '10' }, rate: { type: 'string' }, out: { type: 'string' } },
  });
  if (values.target !== 'sidecar' && values.target !== 'bare') throw new Error('--target must be sidecar or bare');
  const seconds = Number(values.seconds);
  const directory = values.out ?? mkdtempSync(join(tmpdir(), `token-sidecar-profile-${values.target}-`));
  const nodeArgs = ['--cpu-prof', '--cpu-prof-dir', directory];

  const upstream = await startFastUpstream();
  try {
    const target = values.target === 'sidecar' ? await startSidecar({ upstreamUrl: upstream.url, nodeArgs }) : await startBareProxy(upstream, nodeArgs);
    const run = async (durationSeconds: number) => {
      if (!values.rate) return (await closedLoop({ url: `${target.url}${LOAD_PATH}`, connections: CONNECTIONS, headers: LOAD_HEADERS, durationSeconds })).requests;
      const rate = Number(values.rate);
      return (await openLoop({ origin: target.url, path: LOAD_PATH, requestsPerSecond: rate, connections: CONNECTIONS, headers: LOAD_HEADERS, durationSeconds })).sent;
    };
    await run(WARMUP_SECONDS);
    const cpuBefore = cpuMillisecondsOfTree(target.pid);
    const requests = await run(seconds);
    const cpuMs = cpuMillisecondsOfTree(target.pid) - cpuBefore;
    target.assertAlive();
    await target.stop();
    process.stdout.write(
      `${target.name}: ${formatNumber(requests / seconds)} req/s over ${seconds} s, ` +
        `${formatNumber((cpuMs * 1000) / requests)} µs CPU per request (profiled, so slower than unprofiled)\n`,
    );
  } finally {
    await upstream.stop();
  }

  const file = readdirSync(directory).filter((name) => name.endsWith('.cpuprofile')).sort().at(-1);
  if (!file) throw new Error(`no .cpuprofile in ${directory}: did the process exit cleanly?`);
  const summary = summarizeCpuProfile(join(directory, file));
  const table = (title: string, shares: readonly TimeShare[]) =>
    `${title}\n${renderText({ columns: ['', 'ms', '% of busy'], rows: shares.map((s) => [s.name, formatNumber(s.ms), formatNumber(s.percent, 1)]) })}`;
  process.stdout.write(
    [
      `profile: ${join(directory, file)}`,
      `busy ${formatNumber(summary.busyMs)} ms of ${formatNumber(summary.totalMs)} ms sampled`,
      table('Self time by package', summary.selfByPackage),
      table('Self time by function', summary.selfByFunction),
      table("Inclusive time of this project's functions", summary.inclusiveOwnCode),
    ].join('\n\n') + '\n',
  );
}

main().then(
  () => stopAllChildren(),
  async (err: unknown) => {
    process.stderr.write(`profile: ${(err as Error)?.stack ?? String(err)}\n`);
    await stopAllChildren();
    process.exitCode = 1;
  },
);
