import { hostname } from 'node:os';
import type { Report } from './report.js';
import { renderTable } from './render-table.js';

/**
 * The `--junit FILE` form: one `<testsuite>` with one `<testcase>` per gate, a failed gate as a
 * `<failure>` naming it, the table in `<system-out>`. Written to be valid against both the Apache
 * Ant JUnit schema (strict: every attribute and element it requires) and the one Jenkins's xUnit
 * plugin publishes, which are what Jenkins's `junit` step and GitLab's `artifacts:reports:junit` read.
 * A run without gates has a suite with no test case.
 */
export function renderJunit(report: Report, elapsedSeconds: number): string {
  const failures = report.gates.filter((gate) => !gate.held).length;
  const time = elapsedSeconds.toFixed(3);
  const cases = report.gates.map((gate) => {
    const open = `    <testcase name="${attr(gate.expression)}" classname="token-sidecar.report.gates" time="0">`;
    if (gate.held) return `${open}</testcase>`;
    return `${open}\n      <failure type="gate" message="${attr(gate.message)}">${text(gate.message)}</failure>\n    </testcase>`;
  });
  const properties = [
    ['window', report.window.since],
    ['markTakenAt', report.window.markTakenAt ?? ''],
    ...report.instances.map((instance, i) => [`instance.${i}`, `${instance.instanceId} ${instance.admin}`]),
  ].map(([name, value]) => `      <property name="${attr(name!)}" value="${attr(value!)}"/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    // No attributes here: the Ant schema allows none on <testsuites>.
    '<testsuites>',
    // The Ant schema wants a timestamp without a zone (local time of the run is what it means; UTC here).
    `  <testsuite name="token-sidecar report" package="token-sidecar" id="0" tests="${report.gates.length}" failures="${failures}" errors="0" time="${time}" timestamp="${report.generatedAt.slice(0, 19)}" hostname="${attr(hostname() || 'localhost')}">`,
    '    <properties>',
    ...properties,
    '    </properties>',
    ...cases,
    `    <system-out>${text(renderTable(report))}</system-out>`,
    '    <system-err></system-err>',
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function text(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
}
