import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serveHelp } from '../../src/config/help.js';
import { SETTINGS, type SettingName } from '../../src/config/settings.js';

describe('serve help', () => {
  const help = serveHelp();
  const lines = help.split('\n');

  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const { flag, env } = SETTINGS[name];
    it(`lists ${flag} with ${env} and its default on one line`, () => {
      const definition = SETTINGS[name] as { default?: string; defaultText?: string };
      const line = lines.find((l) => l.trimStart().startsWith(`${flag} `));
      assert.ok(line, `no line for ${flag}`);
      assert.match(line, new RegExp(`\\s${env}\\s`));
      // A default with an edge space is shown quoted, or the space would not show (INJECT_PREFIX's `Bearer `).
      const shown = definition.default?.trim() === definition.default ? definition.default : JSON.stringify(definition.default);
      assert.ok(line.endsWith(definition.default !== undefined ? `default: ${shown}` : definition.defaultText ?? 'optional'), line);
    });
  }

  it('shows the contract\'s defaults', () => {
    for (const expected of ['default: mypurecloud.com', 'https://api.<region domain>', 'https://login.<region domain>/oauth/token',
      'default: client_credentials', 'unset: in-memory store', 'default: 127.0.0.1', 'default: 8080', 'default: 9464',
      'default: 0.8', 'default: 1', 'default: on', 'default: info', 'default: client_secret_basic', 'default: authorization',
      'default: "Bearer "']) {
      assert.ok(help.includes(expected), expected);
    }
  });

  it('names the subcommands serve, mock and demo', () => {
    for (const command of ['token-sidecar [serve]', 'token-sidecar mock', 'token-sidecar demo']) assert.ok(help.includes(command), command);
  });

  it('states the exit codes', () => {
    assert.match(help.replaceAll('\n', ' '), /Exit codes: 0 clean stop .* 2 bad usage or configuration .* 1 anything else/);
  });

  it('keeps every line within 110 columns', () => {
    for (const line of lines) assert.ok(line.length <= 110, line);
  });
});
