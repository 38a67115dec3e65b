import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CONTRACT_ENV, DEFAULT_ADMIN_PORT, DEFAULT_PORT, readRepoFile, repoPath } from './contract.js';
import { envPairs, execForm, parseDockerfile, runMounts, type Instruction, type Stage } from './dockerfile.js';

const dockerfileText = readRepoFile('Dockerfile');
const dockerfile = parseDockerfile(dockerfileText);
const finalStage = dockerfile.stages.at(-1)!;

function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function only(stage: Stage, keyword: string): Instruction {
  const found = all(stage, keyword);
  assert.equal(found.length, 1, `expected one ${keyword} in stage ${stage.name ?? stage.image}, found ${found.length}`);
  return found[0]!;
}

test('the image is built in stages and the last one takes only dist/ from the build', () => {
  assert.ok(dockerfile.stages.length >= 2, 'a build stage and a runtime stage');
  const copiesFromBuild = all(finalStage, 'COPY').filter((c) => /--from=/.test(c.args));
  assert.ok(copiesFromBuild.length > 0, 'the runtime stage copies from an earlier stage');
  for (const copy of copiesFromBuild) {
    const stageName = /--from=(\S+)/.exec(copy.args)?.[1];
    assert.ok(dockerfile.stages.slice(0, -1).some((s) => s.name === stageName), `COPY --from=${stageName} names an earlier stage`);
    assert.match(copy.args, /\s\/app\/dist\s/, 'only the compiled output crosses stages, not node_modules');
  }
});

test('every stage starts from a slim Node image of version 22 or newer', () => {
  for (const stage of dockerfile.stages) {
    const match = /^node:(\d+)[\w.-]*-slim$/.exec(stage.image);
    assert.ok(match, `${stage.image} is a node:*-slim image with a pinned major version`);
    assert.ok(Number(match[1]) >= 22, `${stage.image} is Node 22 or newer`);
  }
});

test('the runtime stage installs production dependencies only, without install scripts', () => {
  const installs = all(finalStage, 'RUN').filter((r) => /\bnpm (ci|install)\b/.test(r.args));
  assert.equal(installs.length, 1);
  assert.match(installs[0]!.args, /npm ci\b/);
  assert.match(installs[0]!.args, /--omit=dev/);
  assert.match(installs[0]!.args, /--ignore-scripts/, '`prepare` would run tsc, a dev dependency');
});

test('no parser directive: the build needs no frontend image from Docker Hub', () => {
  // `# syntax=…` makes BuildKit pull that frontend before anything else, which fails offline or
  // behind a registry mirror; the engine's built-in frontend reads everything this file uses.
  assert.doesNotMatch(dockerfileText, /^#\s*syntax\s*=/im);
  for (const mount of dockerfile.stages.flatMap((s) => all(s, 'RUN')).flatMap((r) => runMounts(r.args).mounts)) {
    assert.deepEqual(Object.keys(mount).sort(), ['id', 'target', 'type'], 'secret mounts use only options the built-in frontend has had since BuildKit 0.8');
  }
});

test('every npm install can be pointed at a mirror: registry build argument, CA file and .npmrc secrets', () => {
  const installing = dockerfile.stages.filter((s) => all(s, 'RUN').some((r) => /\bnpm ci\b/.test(r.args)));
  assert.equal(installing.length, 2, 'the build and the runtime stage install');
  for (const stage of installing) {
    const where = `stage ${stage.name ?? stage.image}`;
    const install = stage.instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    // An ARG reaches the environment of the RUNs after it in its own stage only; npm reads
    // npm_config_registry from there. Without it `--build-arg npm_config_registry=…` is ignored.
    const declared = stage.instructions.slice(0, install).some((i) => i.keyword === 'ARG' && i.args.split('=')[0] === 'npm_config_registry');
    assert.ok(declared, `${where} declares ARG npm_config_registry before npm ci`);
    const { mounts, command } = runMounts(stage.instructions[install]!.args);
    const secret = (id: string) => mounts.find((m) => m.type === 'secret' && m.id === id);
    const ca = secret('npm_ca');
    assert.ok(ca?.target, `${where} mounts the npm_ca secret`);
    assert.match(command, new RegExp(`npm ci\\b[^&]*--cafile=${ca.target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`), `${where}: npm ci trusts the mounted CA file`);
    assert.equal(secret('npmrc')?.target, '/root/.npmrc', `${where} mounts an optional .npmrc (credentials) where npm running as root reads it`);
  }
  const userAt = finalStage.instructions.findIndex((i) => i.keyword === 'USER');
  const installAt = finalStage.instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
  assert.ok(installAt >= 0 && installAt < userAt, 'the runtime npm ci runs as root, before USER, so /root/.npmrc is the file it reads');
});

test("the runtime stage's install leaves no npm cache, logs or compile cache in its layer", () => {
  const install = all(finalStage, 'RUN').find((r) => /\bnpm ci\b/.test(r.args))!;
  const parts = runMounts(install.args).command.split('&&').map((part) => part.trim());
  const removed = parts.filter((part) => part.startsWith('rm -rf ')).flatMap((part) => part.split(/\s+/).slice(2));
  // npm's cache and debug logs live in ~/.npm (root's, as npm ci runs before USER); npm 11 on Node 22+
  // turns on Node's compile cache, kept in os.tmpdir(). Removing them in a later RUN would not shrink
  // the image: the install's layer would still hold them.
  assert.ok(removed.includes('/root/.npm'), 'the same RUN removes /root/.npm');
  assert.ok(removed.includes('/tmp/node-compile-cache'), 'the same RUN removes /tmp/node-compile-cache');
  assert.ok(parts.indexOf(parts.find((p) => p.startsWith('rm -rf '))!) > parts.findIndex((p) => p.startsWith('npm ci')), 'after npm ci');
});

test('the runtime stage runs as a non-root user', () => {
  const users = all(finalStage, 'USER');
  assert.ok(users.length > 0, 'USER is set in the final stage');
  const user = users.at(-1)!.args.split(':')[0]!;
  assert.notEqual(user, 'root');
  assert.notEqual(user, '0');
});

test('the healthcheck is the shipped node script, which asks the running command its own port', () => {
  const healthcheck = only(finalStage, 'HEALTHCHECK');
  const cmd = /\bCMD\s+(\[.*\])\s*$/s.exec(healthcheck.args)?.[1];
  assert.ok(cmd, 'HEALTHCHECK ... CMD [exec form]');
  const argv = execForm(cmd);
  assert.ok(argv, 'exec form: no shell in the slim image is needed');
  assert.deepEqual(argv, ['node', 'dist/healthcheck.js'], 'node, not curl or wget (the slim image has neither)');
  // What the script asks for `serve` and `mock` is tested in test/healthcheck.test.ts and, through the
  // replayed image, in docker-replay.test.ts.
  assert.ok(existsSync(repoPath('src/healthcheck.ts')), 'dist/healthcheck.js is built from src/healthcheck.ts');
});

test('both the proxy and the admin port are exposed', () => {
  const ports = all(finalStage, 'EXPOSE').flatMap((e) => e.args.split(/\s+/)).map((p) => p.replace(/\/tcp$/, ''));
  assert.ok(ports.includes(String(DEFAULT_PORT)), `EXPOSE ${DEFAULT_PORT}`);
  assert.ok(ports.includes(String(DEFAULT_ADMIN_PORT)), `EXPOSE ${DEFAULT_ADMIN_PORT}`);
});

test('node runs as PID 1 through an exec-form entrypoint, serving by default', () => {
  const entrypoint = execForm(only(finalStage, 'ENTRYPOINT').args);
  assert.deepEqual(entrypoint, ['node', 'dist/cli.js'], 'exec form, so SIGTERM reaches node rather than a shell');
  assert.deepEqual(execForm(only(finalStage, 'CMD').args), ['serve']);
  const stop = all(finalStage, 'STOPSIGNAL');
  if (stop.length > 0) assert.equal(stop.at(-1)!.args, 'SIGTERM');
});

test('the image binds every interface and sets only contract settings', () => {
  const env = Object.assign({}, ...all(finalStage, 'ENV').map((e) => envPairs(e.args))) as Record<string, string>;
  assert.equal(env.HOST, '0.0.0.0');
  assert.equal(env.ADMIN_HOST, '0.0.0.0');
  assert.equal(env.NODE_ENV, 'production');
  for (const name of Object.keys(env)) {
    assert.ok(name === 'NODE_ENV' || CONTRACT_ENV.has(name), `${name} is a contract setting`);
  }
  assert.equal(env.INBOUND_API_KEY, undefined, 'no key baked into the image');
  assert.equal(env.PROTECTED_MODE, undefined, 'protected mode stays on');
});

/** Minimal .dockerignore matching: exact names, directory prefixes and `*` within one segment. */
function ignored(path: string, patterns: string[]): boolean {
  let result = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/.*)?$`);
    if (regex.test(path)) result = !negated;
  }
  return result;
}

test('.dockerignore keeps secrets and host build output out, and everything the build copies in', () => {
  const patterns = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  for (const path of ['node_modules', 'dist', '.git', '.env', 'test', 'bench/results', 'docs']) {
    assert.ok(ignored(path, patterns), `${path} is ignored`);
  }
  const sources = dockerfile.stages
    .flatMap((s) => all(s, 'COPY'))
    .filter((c) => !/--from=/.test(c.args))
    .flatMap((c) => c.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1));
  assert.ok(sources.length > 0);
  for (const source of sources) {
    assert.ok(existsSync(repoPath(source)), `${source} exists`);
    assert.ok(!ignored(source, patterns), `${source} is copied, so it must not be ignored`);
  }
});
