import type { Report } from './report.js';

/** The `--json FILE` form: the report as it is, described by docs/report.schema.json. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
