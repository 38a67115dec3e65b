import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { onSecretFileProblem, SecretFile, type SecretFileProblem } from '../../src/config/secret-file.js';
import { secretText } from '../../src/config/rotating-secrets.js';

const dir = mkdtempSync(join(tmpdir(), 'sidecar-secret-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Replaces `path` the way a rotation does: a new file renamed over the old one. */
function replace(path: string, content: string): void {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
}

function collectProblems(): { problems: SecretFileProblem[]; stop: () => void } {
  const problems: SecretFileProblem[] = [];
  const stop = onSecretFileProblem((problem) => problems.push(problem));
  return { problems, stop: () => void stop() };
}

describe('SecretFile', () => {
  it('gives the new value once the file is replaced, and the old one until then', () => {
    const path = join(dir, 'rotated');
    writeFileSync(path, 'first\n');
    const file = new SecretFile(path, 'TEST_FILE', secretText, 'first');
    assert.equal(file.current, 'first');
    replace(path, 'second\n');
    assert.equal(file.current, 'second');
    assert.equal(file.current, 'second');
  });

  it('keeps the previous value when the new file is empty or missing, and reports it once, without content', () => {
    const path = join(dir, 'emptied');
    writeFileSync(path, 'kept-value');
    const file = new SecretFile(path, 'TEST_FILE', secretText, 'kept-value');
    const { problems, stop } = collectProblems();
    try {
      replace(path, '');
      assert.equal(file.current, 'kept-value');
      assert.equal(file.current, 'kept-value');
      assert.deepEqual(problems, [{ setting: 'TEST_FILE', file: path, problem: 'is empty' }]);
      rmSync(path);
      assert.equal(file.current, 'kept-value');
      assert.equal(problems.length, 2);
      assert.match(problems[1]!.problem, /cannot be read \(ENOENT\)/);
      replace(path, 'recovered');
      assert.equal(file.current, 'recovered');
      assert.ok(!JSON.stringify(problems).includes('kept-value') && !JSON.stringify(problems).includes('recovered'));
    } finally {
      stop();
    }
  });

  it('makes a profile\'s client secret follow its file, through the frozen configuration', () => {
    const path = join(dir, 'client-secret');
    writeFileSync(path, 'before-rotation\n');
    const config = loadConfig([], { GENESYSCLOUD_OAUTHCLIENT_ID: 'id', GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: path });
    assert.ok(Object.isFrozen(config.profiles[0]));
    assert.equal(config.profiles[0]!.clientSecret, 'before-rotation');
    replace(path, 'after-rotation\n');
    assert.equal(config.profiles[0]!.clientSecret, 'after-rotation');
  });
});
