import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { SETTINGS } from '../../src/config/settings.js';
import { ErrorCodes } from '../../src/errors.js';
import { createMetrics } from '../../src/metrics/metrics.js';

// The README is what users script against: it must name every setting, error code and metric the
// code has, so the two cannot drift apart silently.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('the README settings table names every setting with its env name and flag', () => {
  for (const setting of Object.values(SETTINGS) as { env: string; flag: string }[]) {
    assert.ok(readme.includes(`\`${setting.env}\``), `README lacks ${setting.env}`);
    assert.ok(readme.includes(`\`${setting.flag}\``), `README lacks ${setting.flag}`);
  }
});

test('the README error table lists every error code the sidecar answers with', () => {
  for (const { code, status } of Object.values(ErrorCodes)) {
    assert.match(readme, new RegExp(`\\| ${status} \\| \`${code}\` \\|`), `README lacks ${status} ${code}`);
  }
});

test('the README metrics table lists every sidecar metric', async () => {
  const registry = new Registry();
  createMetrics(registry, { defaultMetrics: false });
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.length >= 11);
  for (const name of names) assert.ok(readme.includes(`\`${name}`), `README lacks ${name}`);
});

test('the README shows the two set-up commands and the test command', () => {
  assert.ok(readme.includes('npm ci && npm start'));
  assert.ok(readme.includes('npm test'));
});
