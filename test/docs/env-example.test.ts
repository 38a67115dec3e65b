import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SETTINGS } from '../../src/config/settings.js';

// .env.example's tuning block shows each setting at the sidecar's own default (settings.ts), so a
// user who uncomments a line changes nothing until they change its value.
const text = readFileSync('.env.example', 'utf8');
const tuning = /^# --- Sidecar tuning[^\n]*\n([\s\S]*?)(?=^# --- )/m.exec(text)?.[1] ?? '';
const defaults = new Map<string, string | undefined>(Object.values(SETTINGS).map((s) => [s.env, (s as { default?: string }).default]));

test('the tuning block of .env.example names settings at their defaults', () => {
  const lines = [...tuning.matchAll(/^#?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, name, value]) => [name!, value!] as const);
  assert.ok(lines.length >= 5, `tuning lines found: ${JSON.stringify(lines)}`);
  for (const [name, value] of lines) {
    assert.ok(defaults.has(name), `${name} is a sidecar setting`);
    assert.equal(value, defaults.get(name), `${name} shows its default`);
  }
});

test('every setting .env.example names anywhere is a setting or a documented compose variable', () => {
  const compose = readFileSync('docker-compose.yml', 'utf8');
  const names = [...text.matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map(([, name]) => name!);
  for (const name of names) {
    assert.ok(defaults.has(name) || compose.includes(name) || SETTINGS_ALIASES.has(name), `${name} is read by the sidecar or by docker-compose.yml`);
  }
});

const SETTINGS_ALIASES = new Set(Object.values(SETTINGS).flatMap((s) => (s as { envAliases?: readonly string[] }).envAliases ?? []));
