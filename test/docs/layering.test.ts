/**
 * The dependency direction of docs/architecture.md, checked on the source: cli → serve → server →
 * {proxy, admin} → lifecycle → {store, lock} → token, with config (which reads the grant table of
 * token/grants), errors, metrics and logging usable from any layer and the mock importing nothing of
 * the sidecar. Each top-level folder (or root file) of src/
 * may import only the units its row names; a new folder needs a row here and a line in the docs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const SRC = 'src';

/** Who may import whom. Leaves have an empty row. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  cli: ['check', 'config', 'demo', 'logging', 'login', 'mock', 'report', 'serve', 'top', 'v8-flags', 'version'],
  serve: ['compose', 'config', 'ipc', 'logging', 'metrics', 'server', 'workers'],
  workers: ['config', 'ipc', 'logging', 'server'],
  server: ['admin', 'brakes', 'compose', 'config', 'errors', 'ipc', 'lifecycle', 'logging', 'metrics', 'pool', 'proxy', 'store', 'token'],
  compose: ['config', 'ipc', 'lifecycle', 'lock', 'logging', 'metrics', 'pool', 'redis', 'store', 'token'],
  admin: ['brakes', 'config', 'errors', 'http', 'logging', 'metrics', 'pool', 'store', 'token'],
  proxy: ['config', 'errors', 'http', 'logging', 'metrics', 'pool'],
  login: ['config', 'errors', 'http', 'logging', 'store', 'token'],
  pool: ['config', 'errors', 'lifecycle', 'logging', 'metrics', 'store', 'token'],
  check: ['config', 'token'],
  brakes: ['config', 'errors', 'logging', 'metrics', 'store', 'token'],
  lifecycle: ['config', 'errors', 'lock', 'logging', 'metrics', 'store', 'token'],
  store: ['config', 'ipc', 'logging', 'redis', 'token'],
  lock: ['ipc', 'logging', 'redis'],
  token: ['errors'],
  demo: ['config', 'harness', 'logging', 'metrics', 'mock'],
  healthcheck: ['config', 'mock'],
  report: [],
  top: ['report'],
  http: ['errors'],
  mock: [],
  harness: [],
  ipc: [],
  redis: [],
  // The grant table and the client-authentication types: the settings accept what token/grants offers.
  config: ['redis', 'token'],
  errors: [],
  metrics: [],
  logging: [],
  version: [],
  'v8-flags': [],
};

/** The unit a source file belongs to: its top-level folder under src/, or a root file's name. */
function unitOf(path: string): string {
  const [first, ...rest] = relative(SRC, path).split(sep);
  return rest.length > 0 ? first! : first!.replace(/\.ts$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The source files `file` imports relatively (static, type-only, `export … from` and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)['"](\.[^'"]+)['"]/g)].map((match) => normalize(join(dirname(file), match[1]!)).replace(/\.js$/, '.ts'));
}

/** Every relative import of every source file, as unit edges. */
function importEdges(): Array<{ from: string; to: string; file: string }> {
  const edges: Array<{ from: string; to: string; file: string }> = [];
  for (const file of sourceFiles(SRC)) {
    for (const target of importsOf(file)) {
      const from = unitOf(file);
      const to = unitOf(target);
      if (from !== to) edges.push({ from, to, file });
    }
  }
  return edges;
}

test('every top-level unit of src/ has a row in the layering table', () => {
  const units = new Set(sourceFiles(SRC).map(unitOf));
  assert.deepEqual([...units].filter((unit) => !(unit in ALLOWED)).sort(), []);
});

test('every import runs in the documented direction', () => {
  const wrong = importEdges()
    .filter(({ from, to }) => !(ALLOWED[from] ?? []).includes(to))
    .map(({ from, to, file }) => `${file}: ${from} → ${to}`);
  assert.deepEqual([...new Set(wrong)].sort(), []);
});

test('the layering table itself has no cycle, so the units it allows can have none', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (unit: string, path: string[]): void => {
    if (state.get(unit) === 'done') return;
    assert.notEqual(state.get(unit), 'visiting', `cycle: ${[...path, unit].join(' → ')}`);
    state.set(unit, 'visiting');
    for (const next of ALLOWED[unit] ?? []) visit(next, [...path, unit]);
    state.set(unit, 'done');
  };
  for (const unit of Object.keys(ALLOWED)) visit(unit, []);
});

/**
 * Within a unit, files may import each other freely, but not in a circle (type-only imports count:
 * two files that need each other's types are one concern split wrong). The mock, which stands apart,
 * is not held to this yet: its rate-limits.ts, token-registry.ts and stats.ts import each other's types.
 */
const CYCLES_TOLERATED_IN = new Set(['mock']);

test('no source file imports itself through others', () => {
  const files = sourceFiles(SRC).filter((file) => !CYCLES_TOLERATED_IN.has(unitOf(file)));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of importsOf(file)) if (files.includes(next)) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, []);
});
