/**
 * Tables as the benchmark prints them (aligned text) and records them (Markdown). Cells are strings,
 * already formatted by the scenario; the first column is a label and every other one is right-aligned.
 */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export function renderText(table: Table): string {
  const widths = table.columns.map((column, i) => Math.max(column.length, ...table.rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(table.columns), line(widths.map((w) => '-'.repeat(w))), ...table.rows.map(line)].join('\n');
}

export function renderMarkdown(table: Table): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return [
    `| ${table.columns.map(escape).join(' | ')} |`,
    `|${table.columns.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

/** 12,345 or 1.25: grouped thousands, at most `decimals` decimals. */
export function formatNumber(value: number, decimals = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export const DASH = '—';
