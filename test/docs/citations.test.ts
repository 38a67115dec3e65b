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

/** README headings (any level, outside code blocks) and the numbers of the numbered list under each. */
function readmeSections(): Map<string, Set<string>> {
  const sections = new Map<string, Set<string>>();
  let current: Set<string> | undefined;
  let inCode = false;
  for (const line of read(join(root, 'README.md')).split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    if (inCode) continue;
    const heading = /^#{1,6} (.+?)\s*$/.exec(line);
    if (heading) sections.set(heading[1]!, (current = new Set()));
    const item = /^(\d+)\. /.exec(line);
    if (item && current) current.add(item[1]!);
  }
  return sections;
}

test('every citation of a README heading names one the README has, and any item numbers after it are items of that section', () => {
  const sections = readmeSections();
  let citations = 0;
  for (const file of files) {
    // The heading in double quotes after the word README, then optionally numbers: 7, 4 and 5, 1, 4 and 6.
    for (const match of read(file).matchAll(/\bREADME "([^"\n]+)"((?:(?:,| and)? \d+\b)*)/g)) {
      citations++;
      const where = `${relative(root, file)} cites the README heading ${JSON.stringify(match[1])}`;
      const items = sections.get(match[1]!);
      assert.ok(items, `${where}, which is not a heading of the README`);
      for (const number of match[2]!.match(/\d+/g) ?? []) assert.ok(items.has(number), `${where} item ${number}, which that section does not have`);
    }
  }
  assert.ok(citations >= 10, `the code cites the README's headings (${citations} citations found)`);
});

test('nothing cites a "contract" heading or guarantee: the repository has none by that name', () => {
  for (const file of files) {
    assert.doesNotMatch(read(file), /\bcontract (guarantees? \d|")/i, `${relative(root, file)} cites a contract the repository does not have`);
  }
});
