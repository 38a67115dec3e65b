import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReportArgs } from '../../src/report/options.js';
import { asRecord, readRepoFile, readYaml } from './contract.js';

// The CI examples in docker/ci/ and the README: every `token-sidecar report` command they show is
// one the report accepts (known options, gate metrics and expressions), and the JUnit file the
// report writes is the one the CI system is told to read.
const SOURCES = ['docker/ci/gitlab-ci.yml', 'docker/ci/Jenkinsfile', 'README.md', 'docker/README.md', 'docs/report.md'];

/** Splits a shell command line into words: whitespace apart, '…' and "…" quoted. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Every `token-sidecar report …` command in `text`: YAML folded lines and backslash continuations joined. */
function reportCommands(text: string): string[][] {
  const joined = text.replace(/\\\n\s*/g, ' ').replace(/>-\n((?:\s{6,}.*\n)+)/g, (_, block: string) => block.replace(/\n\s*/g, ' ') + '\n');
  return [...joined.matchAll(/token-sidecar report (--[^\n"`]*(?:"[^"\n]*"[^\n"`]*)*)/g)].map((m) => words(m[1]!.replace(/\s+#.*$/, '')));
}

describe('CI examples', () => {
  for (const source of SOURCES) {
    it(`every token-sidecar report command in ${source} parses`, () => {
      const commands = reportCommands(readRepoFile(source));
      assert.ok(commands.length > 0, `${source} shows the report`);
      for (const args of commands) {
        const cleaned = args.filter((a) => a !== '…' && a !== '...');
        assert.doesNotThrow(() => parseReportArgs(cleaned, {}), `${source}: token-sidecar report ${args.join(' ')}`);
      }
    });
  }

  it('the GitLab job publishes the JUnit file the report writes, even when a gate failed', () => {
    const job = asRecord(asRecord(readYaml('docker/ci/gitlab-ci.yml'), 'gitlab-ci').loadtest, 'loadtest');
    const artifacts = asRecord(job.artifacts, 'artifacts');
    assert.equal(artifacts.when, 'always');
    const junit = asRecord(artifacts.reports, 'reports').junit;
    const report = reportCommands(readRepoFile('docker/ci/gitlab-ci.yml')).find((args) => args.includes('--junit'))!;
    assert.equal(junit, report[report.indexOf('--junit') + 1]);
  });

  it('the Jenkinsfile publishes the JUnit file the report writes, and fails the build only on exit 2', () => {
    const text = readRepoFile('docker/ci/Jenkinsfile');
    const report = reportCommands(text).find((args) => args.includes('--junit'))!;
    assert.match(text, new RegExp(`junit '${report[report.indexOf('--junit') + 1]}'`));
    assert.match(text, /returnStatus: true/);
    assert.match(text, /if \(status == 2\) error\(/);
  });
});
