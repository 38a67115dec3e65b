import type { Figures, Latency, Tally } from './figures.js';
import { formatValue } from './gates.js';
import type { Report } from './report.js';

/**
 * The report for people (stdout by default): one column for the fleet's total and one per
 * instance, one row per figure, sub-rows for each status code, result or action seen in the total.
 */
export function renderTable(report: Report): string {
  const columns: Array<{ title: string; figures: Figures }> = [
    { title: 'total', figures: report.total },
    ...report.instances.map((instance) => ({ title: shortAdmin(instance.admin), figures: instance.figures })),
  ];
  const rows: Array<[string, ...string[]]> = [];
  const row = (label: string, read: (f: Figures) => string) => rows.push([label, ...columns.map((c) => read(c.figures))]);
  const tallyRows = (label: string, pick: (f: Figures) => Tally) => {
    row(label, (f) => count(pick(f).total));
    // Sub-rows only for what happened: the metrics expose every result at 0 from the start.
    for (const [key, n] of Object.entries(pick(report.total).by)) if (n > 0) row(`  ${key}`, (f) => count(pick(f).by[key] ?? 0));
  };

  row('upstream requests', (f) => count(f.upstream.responses + f.upstream.errors));
  for (const code of Object.keys(report.total.upstream.byCode)) row(`  ${code}`, (f) => count(f.upstream.byCode[code] ?? 0));
  if (report.total.upstream.errors > 0) row('  no answer', (f) => count(f.upstream.errors));
  row('client answers', (f) => count(f.client.responses));
  row('  from the upstream', (f) => count(f.client.upstream.responses));
  for (const code of Object.keys(report.total.client.upstream.byCode)) row(`    ${code}`, (f) => count(f.client.upstream.byCode[code] ?? 0));
  row('  from the sidecar', (f) => count(f.client.sidecar.responses));
  for (const code of Object.keys(report.total.client.sidecar.byCode)) row(`    ${code}`, (f) => count(f.client.sidecar.byCode[code] ?? 0));
  tallyRows('401 replays', (f) => f.replays);
  tallyRows('rate limited (by action)', (f) => f.rateLimited);
  tallyRows('token requests', (f) => f.tokenRequests);
  row('pool size peak', (f) => (f.poolSizePeak.max === null ? 'n/a' : count(f.poolSizePeak.max)));
  tallyRows('lock acquisitions', (f) => f.lock.acquisitions);
  row('lock wait p50 / p99 ms', (f) => quantiles(f.lock.wait));
  row('added latency p50 / p99 ms', (f) => (f.addedLatency === null ? 'n/a' : quantiles(f.addedLatency)));
  tallyRows('refusals', (f) => f.refusals);

  const widths = [0, ...columns.map(() => 0)].map((_, i) => Math.max(i === 0 ? 0 : columns[i - 1]!.title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!))).join('   ').trimEnd();
  const out = [heading(report), '', line(['', ...columns.map((c) => c.title)]), ...rows.map(line)];
  if (report.gates.length > 0) {
    out.push('', 'gates:');
    for (const gate of report.gates) out.push(`  ${gate.held ? 'held  ' : 'FAILED'}  ${gate.expression}  (${gate.metric} = ${gate.value === null ? 'n/a' : formatValue(gate.value)})`);
  }
  return `${out.join('\n')}\n`;
}

function heading(report: Report): string {
  const n = report.instances.length;
  const instances = `${n} instance${n === 1 ? '' : 's'}`;
  const since =
    report.window.since === 'mark'
      ? `since the mark of ${report.window.markTakenAt}`
      : report.window.since === 'mixed'
        ? `since the mark of ${report.window.markTakenAt} (instances not in the mark: since their start)`
        : 'since each instance started';
  return `token-sidecar report: ${instances}, ${since}, to ${report.generatedAt}`;
}

/** `host:port` of an admin URL, for a column title. */
function shortAdmin(admin: string): string {
  try {
    return new URL(admin).host;
  } catch {
    return admin;
  }
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function quantiles(latency: Latency): string {
  const ms = (v: number | null) => (v === null ? '-' : formatValue(Number(v.toFixed(v < 10 ? 2 : 1))));
  return `${ms(latency.p50Ms)} / ${ms(latency.p99Ms)}`;
}
