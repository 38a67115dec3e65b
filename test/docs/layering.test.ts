/**
 * The dependency direction of docs/architecture.md, checked on the source: cli → serve → server →
 * {proxy, admin} → lifecycle → {store, lock} → token, with config, errors, metrics and logging as
 * leaves and the mock importing nothing of the sidecar. Each top-level folder (or root file) of src/
 * may import only the units its row names; a new folder needs a row here and a line in the docs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const SRC = 'src';

/** Who may import whom. Leaves have an empty row. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  cli: ['check', 'config', 'demo', 'logging', 'login', 'mock', 'serve', 'v8-flags', 'version'],
  serve: ['compose', 'config', 'ipc', 'logging', 'metrics', 'server', 'workers'],
  workers: ['config', 'ipc', 'logging', 'server'],
  server: ['admin', 'brakes', 'compose', 'config', 'errors', 'ipc', 'lifecycle', 'logging', 'metrics', 'proxy', 'store', 'token'],
  compose: ['config', 'ipc', 'lifecycle', 'lock', 'logging', 'metrics', 'redis', 'store', 'token'],
  admin: ['brakes', 'config', 'errors', 'http', 'lifecycle', 'logging', 'metrics', 'store', 'token'],
  proxy: ['config', 'errors', 'http', 'lifecycle', 'logging', 'metrics'],
  login: ['config', 'errors', 'http', 'logging', 'store', 'token'],
  check: ['config', 'token'],
  brakes: ['config', 'errors', 'logging', 'metrics', 'store', 'token'],
  lifecycle: ['config', 'errors', 'lock', 'logging', 'metrics', 'store', 'token'],
  store: ['config', 'ipc', 'logging', 'redis', 'token'],
  lock: ['ipc', 'logging', 'redis'],
  token: ['config', 'errors'],
  demo: ['config', 'harness', 'logging', 'metrics', 'mock'],
  healthcheck: ['config', 'mock'],
  http: ['errors'],
  mock: [],
  harness: [],
  ipc: [],
  redis: [],
  config: [],
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

/** Every relative import (static, `export … from` and dynamic) of every source file, as unit edges. */
function importEdges(): Array<{ from: string; to: string; file: string }> {
  const edges: Array<{ from: string; to: string; file: string }> = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)['"](\.[^'"]+)['"]/g)) {
      const target = normalize(join(dirname(file), match[1]!)).replace(/\.js$/, '.ts');
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
