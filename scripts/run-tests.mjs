#!/usr/bin/env node
// Runs the test files under test/ with node's built-in runner, TypeScript loaded by tsx.
// Node 20's --test does not expand globs itself, so the files are listed here.
//
// Usage: node scripts/run-tests.mjs [--unit] [--list] [path-substring ...]
// (substrings filter the files; --list prints the files of each group instead of running them)
//
// The files fall in two groups, told apart by their source rather than by a list kept by hand:
// - a file STARTS PROCESSES when it, or a file under test/ it imports, imports `node:child_process`
//   or the shared process starter src/harness/child-processes.ts (through which tests start
//   dist/cli.js, the mock CLI and redis-server): the end-to-end, demo, Redis, Prometheus and
//   container tests among others. They run with `node --test`, one process per file.
// - a file that RUNS A TIMED LOAD in-process (named `*-load.test.ts`, e.g. the OAuth2 providers under
//   50 clients for 5 s each) goes with them too: it starts no process, but it is not quick.
//   Both kinds run five files at a time: they mostly wait (start-up, token rotations, rate windows,
//   a browser), since their loads go to an upstream that answers in 200 ms as a remote API does
//   (test/helpers/api-latency.ts) instead of spinning the CPUs. On the 2-core machine: one at a time
//   6.5 min; three 2 min 50 s (the same with the loads spinning, then CPU-bound); five 2 min 15 s.
// - every other file is a UNIT test file (`npm run test:unit`, no build needed). They run together
//   in one Node process: started one process per file, Node and tsx start-up and loading fastify
//   again cost about 1.2 s of CPU per file (39 s of CPU for 26 files, against 10 s in one process).
// `npm test` runs both groups at the same time (the unit group's report is printed last).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.ts') ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g;
const isProcessStarter = (specifier) => /^(node:)?child_process$/.test(specifier) || specifier.endsWith('harness/child-processes.js');
const TEST_ROOT = resolve('test');

/** Whether `file` or a file under test/ that it imports (transitively) imports a process starter. */
function startsProcesses(file, seen = new Set()) {
  if (seen.has(file)) return false;
  seen.add(file);
  for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    if (isProcessStarter(specifier)) return true;
    if (!specifier.startsWith('.')) continue;
    const imported = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
    if (!relative(TEST_ROOT, imported).startsWith('..') && existsSync(imported) && startsProcesses(imported, seen)) return true;
  }
  return false;
}

const args = process.argv.slice(2);
const filters = args.filter((arg) => !arg.startsWith('--'));
const files = walk('test').sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
const runsLoad = (file) => /-load\.test\.ts$/.test(file);
const unit = files.filter((f) => !startsProcesses(resolve(f)) && !runsLoad(f));
// Scheduling only: the files that take longest, longest first (as measured in the suite), so they start
// first instead of running alone at the end while the other slots sit idle.
const LONGEST = [
  'test/deploy/docker-replay.test.ts', // two npm installs and a compile: about a minute beside the others
  'test/e2e/rate-limit-pool.test.ts', // 10 s rate windows, scenario after scenario: about a minute
  'test/e2e/pool-limits.test.ts',
  'test/oauth2/provider-load.test.ts', // two 10 s loads each
  'test/oauth2/provider-key-load.test.ts',
  'test/e2e/fleet.test.ts', // a 4-instance fleet under load, four times
  'test/e2e/redis-sentinel.test.ts',
  'test/demo/demo.test.ts',
  'test/e2e/redis-cluster.test.ts',
  'test/login/many-users.test.ts',
  'test/e2e/single-instance-load.test.ts',
  'test/e2e/shutdown.test.ts',
  'test/e2e/workers.test.ts',
  'test/e2e/user-context.test.ts',
  'test/login/failures.test.ts',
  'test/login/store.test.ts',
  'test/login/browser.test.ts',
].map((f) => join(...f.split('/')));
const longestFirst = (a, b) => (LONGEST.includes(a) ? LONGEST.indexOf(a) : LONGEST.length) - (LONGEST.includes(b) ? LONGEST.indexOf(b) : LONGEST.length);
const withProcesses = args.includes('--unit') ? [] : files.filter((f) => !unit.includes(f)).sort(longestFirst);
if (unit.length + withProcesses.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
if (args.includes('--list')) {
  console.log(`# unit (one process)\n${unit.join('\n')}\n# starting processes (one process per file)\n${withProcesses.join('\n')}`);
  process.exit(0);
}

const nodeArgs = ['--import', 'tsx', '--test-reporter=spec'];
// Imported one after the other into a single process, whose exit code is 1 when a test failed.
// --test-timeout applies to `node --test` only, so a watchdog ends a unit run that hangs.
const UNIT_TIMEOUT_MS = 180_000;
const unitScript = [
  `setTimeout(() => { console.error('unit tests still running after ${UNIT_TIMEOUT_MS} ms'); process.exit(1); }, ${UNIT_TIMEOUT_MS}).unref();`,
  ...unit.map((f) => `await import(${JSON.stringify(pathToFileURL(resolve(f)).href)});`),
].join('\n');
const processArgs = ['--test', '--test-concurrency=5', '--test-timeout=180000', ...withProcesses];

/** Runs node with `args`; resolves with its exit status and, when `capture`, its output (else it goes straight through). */
function run(args, capture) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    const chunks = [];
    if (capture) for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => chunks.push(chunk));
    child.on('close', (code, signal) => resolveRun({ status: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks) }));
  });
}

// The unit group is quick and mostly computes, the process group mostly waits on its processes: with
// both, they run at the same time (about 10 s less than one after the other on 2 CPUs). The unit
// group's report is held back and printed after the process group's, so the two do not interleave.
const unitRun = unit.length === 0 ? Promise.resolve({ status: 0, output: Buffer.alloc(0) }) : run(['--input-type=module', '-e', unitScript], withProcesses.length > 0);
const processStatus = withProcesses.length === 0 ? 0 : (await run(processArgs, false)).status;
const unitResult = await unitRun;
if (unitResult.output.length > 0) process.stdout.write(`\n# unit tests (run alongside the above)\n${unitResult.output}`);
process.exit(unitResult.status || processStatus);
