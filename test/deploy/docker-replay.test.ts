import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import module from 'node:module';
import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, posix, relative as relativePath } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, startMock, startNode, waitForHttp, type RunningProcess } from '../helpers/processes.js';
import { readRepoFile, repoPath } from './contract.js';
import { envPairs, execForm, parseDockerfile, runMounts, type Stage } from './dockerfile.js';

// The Dockerfile's build and run steps replayed outside Docker, so a broken image (a
// runtime import of a dev dependency, a file the build stage forgot to COPY, a wrong ENTRYPOINT)
// fails `npm test` on a machine without a Docker daemon. Each stage gets a temp folder standing
// for its WORKDIR and one standing for the rest of its filesystem (root's home and /tmp, where npm
// and Node leave their caches); ARG, COPY, ENV and RUN are carried out in order; the final stage's
// ENTRYPOINT + CMD then run with node and the ENV the image sets, and its HEALTHCHECK against them.

const STEP_TIMEOUT_MS = 180_000;
const manifest = JSON.parse(readRepoFile('package.json')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
const finalStage = dockerfile.stages.at(-1)!;

interface ReplayedStage {
  readonly stage: Stage;
  /** The temp folder standing for the stage's WORKDIR. */
  readonly dir: string;
  /** The temp folder standing for the stage's filesystem outside WORKDIR (/root, /tmp). */
  readonly root: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck?: string[] | undefined;
}

const timings: Record<string, number> = {};
/** Files under the final stage's /root and /tmp after each part of each RUN, in order. */
const leftovers: { command: string; files: string[] }[] = [];
/** Named stages by name, as they are being replayed: a COPY --from waits for its stage to finish. */
const replayed = new Map<string, Promise<ReplayedStage>>();
let scratch: string | undefined;
const children = new Set<ChildProcess>();

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/**
 * The environment a RUN step gets: the image's (PATH; HOME and TMPDIR inside the stage's filesystem,
 * as root's home and /tmp are in the image) plus the stage's ARGs and ENV. Only the settings that
 * say how to reach packages pass through from this machine (Docker passes proxies as predefined
 * build arguments); `prefer-offline` reuses the npm cache copied into the stage's home when it has
 * a package (the lockfile still decides what is installed).
 */
function runEnv(stage: ReplayedStage): Record<string, string> {
  const passed = Object.entries(process.env).filter(
    ([name]) => /^(https?_proxy|no_proxy|HTTPS?_PROXY|NO_PROXY|NODE_EXTRA_CA_CERTS)$/.test(name),
  );
  return {
    PATH: process.env.PATH ?? '',
    HOME: join(stage.root, 'root'),
    TMPDIR: join(stage.root, 'tmp'),
    ...(Object.fromEntries(passed) as Record<string, string>),
    ...stage.env,
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
  };
}

/** Every file below `dir`, relative to it (directories only through the files they hold). */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => relativePath(dir, join(e.parentPath, e.name))).sort();
}

function run(argv: string[], cwd: string, env: Record<string, string>, timeoutMs = STEP_TIMEOUT_MS): Promise<{ code: number | string; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? signal ?? 'unknown', output });
    });
  });
}

/**
 * One `&&`-separated part of a shell-form RUN, as this machine should run it: npm commands run in
 * the stage's folders; `rm -rf` of absolute paths removes them from the stage's filesystem (never
 * from this machine's). Anything else must be taught to the replay deliberately.
 */
function replayable(command: string): 'npm' | 'rm' {
  if (/^npm (ci|run \S+)(\s|$)/.test(command)) return 'npm';
  if (/^rm -rf( \/\S+)+$/.test(command)) return 'rm';
  throw new Error(`the replay does not know how to run "${command}" outside Docker; teach test/deploy/docker-replay.test.ts`);
}

/** The host path of an absolute path in the stage's filesystem: below WORKDIR, or below its root. */
function imagePath(stage: ReplayedStage, absolute: string): string {
  const inWorkdir = !posix.relative(stage.workdir, absolute).startsWith('..');
  return inWorkdir ? hostPath(stage, absolute) : join(stage.root, posix.normalize(absolute));
}

/** Resolves a path inside a stage's image filesystem to its temp folder (only below WORKDIR exists). */
function hostPath(stage: ReplayedStage, imagePath: string): string {
  const absolute = posix.resolve(stage.workdir, imagePath);
  const relative = posix.relative(stage.workdir, absolute);
  assert.ok(!relative.startsWith('..'), `${imagePath} lies outside WORKDIR ${stage.workdir} of stage ${stage.stage.name ?? stage.stage.image}`);
  return join(stage.dir, relative);
}

async function replayStage(stage: Stage, index: number): Promise<ReplayedStage> {
  const label = stage.name ?? `stage${index}`;
  const state: ReplayedStage = { stage, dir: join(scratch!, label), root: join(scratch!, `${label}-fs`), workdir: '/', env: {}, entrypoint: [], cmd: [] };
  await mkdir(state.dir);
  await mkdir(join(state.root, 'tmp'), { recursive: true });
  // This machine's npm cache as the stage's, so the installs need not download (a copy: the stage's
  // npm writes to it, and its leftovers are what the final stage must clean up).
  const npmCache = process.env.npm_config_cache ?? join(homedir(), '.npm');
  if (existsSync(join(npmCache, '_cacache'))) await cp(join(npmCache, '_cacache'), join(state.root, 'root', '.npm', '_cacache'), { recursive: true });
  else await mkdir(join(state.root, 'root'));
  for (const instruction of stage.instructions) {
    const started = performance.now();
    const where = `Dockerfile:${instruction.line} ${instruction.keyword} ${instruction.args}`;
    switch (instruction.keyword) {
      case 'WORKDIR':
        // Nothing was copied before WORKDIR in our stages, so the temp folder simply stands for it.
        state.workdir = posix.resolve(state.workdir, instruction.args);
        break;
      case 'ENV':
        Object.assign(state.env, envPairs(instruction.args));
        break;
      case 'ARG': {
        // As `docker build --build-arg NAME` (no value) does: the value comes from this machine's
        // environment when set there, else the ARG's default, else the name stays unset.
        const [name, fallback] = instruction.args.split(/=(.*)/s, 2) as [string, string | undefined];
        const value = process.env[name] ?? fallback;
        if (value !== undefined) state.env[name] = value;
        break;
      }
      case 'COPY': {
        const words = instruction.args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        assert.ok(words.every((w) => !w.startsWith('--') || w.startsWith('--from=')), `${where}: only --from is replayed`);
        const paths = words.filter((w) => !w.startsWith('--'));
        const dest = paths.pop()!;
        const source = from === undefined ? undefined : await replayed.get(from);
        assert.ok(from === undefined || source, `${where}: stage ${from} was not replayed before`);
        const intoDirectory = dest.endsWith('/') || paths.length > 1;
        for (const path of paths) {
          const src = source ? hostPath(source, path) : repoPath(path);
          assert.ok(existsSync(src), `${where}: ${path} exists in the ${source ? `${from} stage` : 'build context'}`);
          const target = intoDirectory ? join(hostPath(state, dest), basename(path)) : hostPath(state, dest);
          await cp(src, target, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        // Secret mounts add nothing here: this machine's npm reaches its registry already (the
        // passed-through environment), and a missing secret is what a plain `docker build` has.
        const { mounts, command: shell } = runMounts(instruction.args);
        assert.ok(mounts.every((m) => m.type === 'secret'), `${where}: only secret mounts are replayed`);
        assert.equal(execForm(shell), undefined, `${where}: shell form expected`);
        for (const command of shell.split('&&').map((c) => c.trim())) {
          if (replayable(command) === 'rm') {
            for (const path of command.split(/\s+/).slice(2)) await rm(imagePath(state, path), { recursive: true, force: true });
          } else {
            const result = await run(['sh', '-c', command], state.dir, runEnv(state));
            assert.equal(result.code, 0, `${where}: "${command}" failed:\n${result.output}`);
          }
          if (stage === finalStage) leftovers.push({ command, files: await filesBelow(state.root) });
        }
        break;
      }
      case 'ENTRYPOINT':
      case 'CMD': {
        const argv = execForm(instruction.args);
        assert.ok(argv, `${where}: exec form expected`);
        if (instruction.keyword === 'ENTRYPOINT') state.entrypoint = argv;
        else state.cmd = argv;
        break;
      }
      // Image metadata with no effect on what is installed or how it starts here.
      case 'HEALTHCHECK': {
        const cmd = /\bCMD\s+(\[.*\])\s*$/s.exec(instruction.args)?.[1];
        state.healthcheck = cmd === undefined ? undefined : execForm(cmd);
        assert.ok(state.healthcheck, `${where}: exec-form CMD expected`);
        break;
      }
      case 'USER':
      case 'EXPOSE':
      case 'STOPSIGNAL':
      case 'LABEL':
        break;
      default:
        assert.fail(`${where}: the replay does not know ${instruction.keyword}; teach it`);
    }
    timings[`${label}:${instruction.line} ${instruction.keyword}`] = Math.round(performance.now() - started);
  }
  return state;
}

let runtime: ReplayedStage;

before(
  async () => {
    scratch = await mkdtemp(join(tmpdir(), 'token-sidecar-docker-replay-'));
    // The stages the final one copies from, in Dockerfile order, then the final stage.
    const needed = new Set(
      finalStage.instructions.flatMap((i) => (i.keyword === 'COPY' ? [/--from=(\S+)/.exec(i.args)?.[1]].filter((x): x is string => !!x) : [])),
    );
    const stages = dockerfile.stages.slice(0, -1).filter((s) => s.name !== undefined && needed.has(s.name));
    assert.equal(stages.length, needed.size, `every COPY --from names a stage: ${[...needed].join(', ')}`);
    // All at once, as BuildKit builds independent stages: the final stage's production install runs
    // while the build stage compiles, and its COPY --from waits for that stage (its timing includes
    // the wait). Promise.all watches every stage from the start, so the first failure ends the hook.
    const replays = [...stages.entries()].map(([index, stage]) => {
      const replay = replayStage(stage, index);
      replayed.set(stage.name!, replay);
      return replay;
    });
    runtime = (await Promise.all([...replays, replayStage(finalStage, dockerfile.stages.length - 1)])).at(-1)!;
  },
  { timeout: 2 * STEP_TIMEOUT_MS },
);

/** Runs the image's ENTRYPOINT with `args` (as `docker run image args...`), or with its CMD. */
function startImage(args: string[] | undefined, env: Record<string, string>): RunningProcess {
  const argv = [...runtime.entrypoint, ...(args ?? runtime.cmd)];
  assert.equal(argv[0], 'node', 'the entrypoint runs node');
  // The image's ENV, then `docker run -e` (startNode adds the PATH).
  return startNode(argv.slice(1), { ...runtime.env, ...env }, runtime.dir);
}

test('the replayed runtime folder holds only the manifests, dist/ and production node_modules', async (t) => {
  t.diagnostic(`replay timings (ms): ${JSON.stringify(timings)}`);
  assert.deepEqual((await readdir(runtime.dir)).sort(), ['dist', 'node_modules', 'package-lock.json', 'package.json']);
  assert.ok(existsSync(join(runtime.dir, 'dist', 'cli.js')), 'dist/cli.js came over from the build stage');
  assert.ok(!existsSync(join(runtime.dir, 'dist', 'test')), 'no compiled tests in the image');
  for (const name of Object.keys(manifest.dependencies)) {
    assert.ok(existsSync(join(runtime.dir, 'node_modules', name, 'package.json')), `production dependency ${name} is installed`);
  }
});

test('no dev dependency is installed in the runtime stage', async () => {
  // A dev dependency that a production dependency also needs (ajv: fastify's validator) belongs in
  // the image; the lockfile marks the rest `dev`.
  const lock = JSON.parse(readRepoFile('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.keys(manifest.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
  for (const name of ['typescript', 'tsx', 'autocannon']) assert.ok(devOnly.includes(name), `${name} is a dev dependency`);
  for (const name of devOnly) {
    assert.ok(!existsSync(join(runtime.dir, 'node_modules', name)), `dev dependency ${name} is not in the runtime node_modules`);
  }
  assert.ok(!existsSync(join(runtime.dir, 'node_modules', '.bin', 'tsc')), 'no tsc binary');
  assert.ok(!existsSync(join(runtime.dir, 'node_modules', 'esbuild')), "tsx's esbuild did not come along either");
});

test("the runtime stage's install leaves nothing of npm's in root's home or /tmp", () => {
  const installed = leftovers.findIndex((step) => step.command.startsWith('npm ci'));
  assert.ok(installed >= 0, 'the final stage runs npm ci');
  // What npm ci leaves (its cache and debug log; on Node 22+ also the compile cache): this proves
  // the replay sees what a layer would keep, so the check after the RUN can fail.
  const left = leftovers[installed]!.files;
  assert.ok(left.some((f) => f.startsWith('root/.npm/_logs/')), `npm ci left its log: ${left.slice(0, 5).join(', ')}`);
  assert.ok(left.some((f) => f.startsWith('root/.npm/_cacache/')), 'npm ci used its cache');
  if (typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function') {
    assert.ok(left.some((f) => f.startsWith('tmp/node-compile-cache/')), "npm turned on Node's compile cache");
  }
  assert.deepEqual(leftovers.at(-1)!.files, [], 'the RUN ends with nothing left below /root or /tmp');
});

test('`--version` through the image entrypoint prints the package version', async () => {
  const proc = startImage(['--version'], {});
  const code = await proc.exited;
  assert.equal(code, 0, proc.output());
  assert.equal(proc.output(), `${manifest.version}\n`);
  const runtimeManifest = JSON.parse(await readFile(join(runtime.dir, 'package.json'), 'utf8')) as { version: string };
  assert.equal(runtimeManifest.version, manifest.version);
});

test('with the image ENV and no inbound key the proxy refuses to start, exiting 2 and naming the setting', async () => {
  assert.equal(runtime.env.HOST, '0.0.0.0', 'the image binds every interface');
  const proc = startImage(undefined, {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
    GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: 'http://127.0.0.1:9',
    TOKEN_URL: 'http://127.0.0.1:9/oauth/token',
  });
  assert.equal(await proc.exited, 2, proc.output());
  assert.match(proc.output(), /INBOUND_API_KEY/);
});

test('the image entrypoint and CMD start the proxy: /healthz answers 200, a keyed request is proxied, SIGTERM exits 0', async (t) => {
  const mock = await startMock();
  after(() => mock.proc.stop('SIGKILL'));
  const [port, adminPort] = [await freePort(), await freePort()];
  const key = randomBytes(16).toString('hex');
  const started = performance.now();
  const proc = startImage(undefined, {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
    GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: mock.url,
    TOKEN_URL: `${mock.url}/oauth/token`,
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    INBOUND_API_KEY: key,
  });
  after(() => proc.stop('SIGKILL'));

  await waitForHttp(`http://127.0.0.1:${adminPort}/healthz`, { proc });
  const healthyAfterMs = Math.round(performance.now() - started);
  await waitForHttp(`http://127.0.0.1:${adminPort}/readyz`, { proc, timeoutMs: 10_000 });

  const keyed = await fetch(`http://127.0.0.1:${port}/api/v2/echo/through-the-image`, { headers: { 'x-sidecar-key': key } });
  const report = (await keyed.json()) as { path: string; headers: Record<string, string> };
  assert.equal(keyed.status, 200);
  assert.equal(report.path, '/api/v2/echo/through-the-image');
  assert.match(report.headers.authorization ?? '', /^Bearer \S+/);
  assert.equal(report.headers['x-sidecar-key'], undefined, 'the inbound key is not forwarded');
  const unkeyed = await fetch(`http://127.0.0.1:${port}/api/v2/echo/no-key`);
  await unkeyed.arrayBuffer();
  assert.notEqual(unkeyed.status, 200, 'without the key nothing is proxied');

  const stopping = performance.now();
  const code = await proc.stop('SIGTERM');
  t.diagnostic(JSON.stringify({ healthyAfterMs, unkeyedStatus: unkeyed.status, exitAfterSignalMs: Math.round(performance.now() - stopping) }));
  assert.equal(code, 0, proc.output());
});

/** Runs the image's HEALTHCHECK command the way Docker does: in WORKDIR with the image's ENV and
 * the container's `-e` settings, aimed at `pid` (in a container the script looks at PID 1). */
async function healthcheck(pid: number, env: Record<string, string>): Promise<{ code: number | string; output: string }> {
  const argv = runtime.healthcheck;
  assert.ok(argv && argv[0] === 'node', 'the HEALTHCHECK runs node');
  return run([process.execPath, ...argv.slice(1), String(pid)], runtime.dir, { PATH: process.env.PATH ?? '', ...runtime.env, ...env }, 10_000);
}

test('the HEALTHCHECK of `docker run <image> mock` asks the mock on its own port: healthy, then unhealthy once it stopped', async () => {
  const port = await freePort();
  const env = {};
  const mock = startImage(['mock', '--port', String(port)], env);
  after(() => mock.stop('SIGKILL'));
  await waitForHttp(`http://127.0.0.1:${port}/__stats`, { proc: mock });
  const healthy = await healthcheck(mock.child.pid!, env);
  assert.equal(healthy.code, 0, healthy.output);
  assert.match(healthy.output, new RegExp(`127\\.0\\.0\\.1:${port}/__stats answered 200`));
  assert.equal(await mock.stop('SIGTERM'), 0, mock.output());
  const gone = await healthcheck(mock.child.pid!, env);
  assert.equal(gone.code, 1, gone.output);
});

test('the HEALTHCHECK of `serve --admin-port N` asks port N, not ADMIN_PORT', async () => {
  const [port, adminPort, envAdminPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
    GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: 'http://127.0.0.1:9',
    TOKEN_URL: 'http://127.0.0.1:9/oauth/token',
    INBOUND_API_KEY: randomBytes(16).toString('hex'),
    // Nothing listens here: a check that read only the environment would fail.
    ADMIN_PORT: String(envAdminPort),
    LOG_LEVEL: 'error',
  };
  const proc = startImage(['serve', '--port', String(port), '--admin-port', String(adminPort)], env);
  after(() => proc.stop('SIGKILL'));
  await waitForHttp(`http://127.0.0.1:${adminPort}/healthz`, { proc });
  const result = await healthcheck(proc.child.pid!, env);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, new RegExp(`127\\.0\\.0\\.1:${adminPort}/healthz answered 200`));
  assert.equal(await proc.stop('SIGTERM'), 0, proc.output());
});
