import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The repository explains itself: what the code cites is in it, and nothing points at documents or
// trackers a clone does not have.
const root = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', '.git', 'results']);

function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesBelow(path) : [path];
  });
}

const TEXT = /\.(ts|mjs|js|md|ya?ml|json|jmx|txt|sh)$|Dockerfile$|\.dockerignore$/;
const files = [
  ...['src', 'test', 'bench', 'docs', 'docker', 'scripts'].filter((d) => existsSync(join(root, d))).flatMap((d) => filesBelow(join(root, d))),
  ...['README.md', 'Dockerfile', '.dockerignore', 'docker-compose.yml', 'package.json'].map((f) => join(root, f)).filter((f) => existsSync(f)),
].filter((f) => TEXT.test(f));
const read = (path: string) => readFileSync(path, 'utf8');

/** `## §N …` headings of docs/genesys.md. */
const genesysSections = new Set([...read(join(root, 'docs/genesys.md')).matchAll(/^## §(\d+)\b/gm)].map((m) => m[1]!));

test('docs/genesys.md keeps its numbered sections in order, §1 to §10', () => {
  assert.deepEqual([...genesysSections], Array.from({ length: 10 }, (_, i) => String(i + 1)));
});

test('every `docs/genesys.md §N` citation names a section that exists', () => {
  let citations = 0;
  for (const file of files) {
    for (const match of read(file).matchAll(/docs\/genesys\.md((?:,? ?§\d+)+)/g)) {
      for (const section of match[1]!.matchAll(/§(\d+)/g)) {
        citations++;
        assert.ok(genesysSections.has(section[1]!), `${relative(root, file)} cites docs/genesys.md §${section[1]}, which does not exist`);
      }
    }
  }
  assert.ok(citations >= 20, `the code cites the Genesys facts (${citations} citations found)`);
});

test('nothing cites a team note outside the repository or a tracker number', () => {
  for (const file of files) {
    const text = read(file);
    const where = relative(root, file);
    assert.doesNotMatch(text, /\b(GENESYS|CONTRACT|STYLE)\.md\b/, `${where} cites a document that is not in the repository`);
    assert.doesNotMatch(text, /\b(issue|task) #?[0-9]+\b/i, `${where} names a tracker number`);
  }
});

test('relative links in the README and docs/ lead to files that exist', () => {
  for (const file of [join(root, 'README.md'), join(root, 'docker/README.md'), ...filesBelow(join(root, 'docs'))].filter((f) => f.endsWith('.md'))) {
    for (const match of read(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      assert.ok(existsSync(join(dirname(file), target)), `${relative(root, file)} links to ${target}, which does not exist`);
    }
  }
});
