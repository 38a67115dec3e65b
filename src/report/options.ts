import { parseFlags } from './args.js';
import { GATE_METRICS, GateSyntaxError, OPERATORS, parseGate, type Gate } from './gates.js';
import { parseAdminList } from './scrape.js';

/** What `token-sidecar report` was asked to do: take a mark, or report (from a mark or from start). */
export type ReportOptions =
  | { readonly action: 'mark'; readonly admins: readonly string[]; readonly markFile: string; readonly headers: Record<string, string> }
  | {
      readonly action: 'report';
      readonly admins: readonly string[];
      /** Report from this mark; unset: from each instance's start. */
      readonly sinceFile?: string;
      readonly jsonFile?: string;
      readonly junitFile?: string;
      readonly gates: readonly Gate[];
      readonly headers: Record<string, string>;
    }
  | { readonly action: 'help' };

export class ReportUsageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/**
 * Parses `report`'s argv; every problem at once in a ReportUsageError. `INBOUND_API_KEY` from the
 * environment (or `--inbound-key`) is sent as `x-sidecar-key`, for admin ports that ask for it.
 */
export function parseReportArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ReportOptions {
  const { values, booleans, problems } = parseFlags(argv, {
    valued: ['--admin', '--mark', '--since', '--json', '--junit', '--fail-on', '--inbound-key'],
    repeatable: ['--admin', '--fail-on'],
    booleans: ['--help', '-h'],
  });
  if (booleans.has('--help') || booleans.has('-h')) return { action: 'help' };
  const all: string[] = [...problems];
  const admins = (values.get('--admin') ?? []).flatMap(parseAdminList);
  if (admins.length === 0) all.push('--admin: required, the admin URL of each instance (--admin http://127.0.0.1:9464,http://127.0.0.1:9465)');
  const gates: Gate[] = [];
  for (const expression of values.get('--fail-on') ?? []) {
    try {
      gates.push(parseGate(expression));
    } catch (err) {
      if (!(err instanceof GateSyntaxError)) throw err;
      all.push(err.message);
    }
  }
  const one = (flag: string) => values.get(flag)?.[0];
  const markFile = one('--mark');
  if (markFile !== undefined) {
    for (const flag of ['--since', '--json', '--junit', '--fail-on']) if (values.has(flag)) all.push(`${flag}: not with --mark (--mark only takes a mark; report later with --since ${markFile})`);
  }
  if (all.length > 0) throw new ReportUsageError(all);
  const key = one('--inbound-key') ?? env.INBOUND_API_KEY;
  const headers: Record<string, string> = key ? { 'x-sidecar-key': key } : {};
  if (markFile !== undefined) return { action: 'mark', admins, markFile, headers };
  return { action: 'report', admins, sinceFile: one('--since'), jsonFile: one('--json'), junitFile: one('--junit'), gates, headers };
}

export function reportHelp(): string {
  return `Usage:
  token-sidecar report --admin URL[,URL…] --mark FILE      take a mark at the start of a run
  token-sidecar report --admin URL[,URL…] [--since FILE] [--json FILE] [--junit FILE] [--fail-on EXPR]…

One report for a fleet of sidecars, read from their admin ports (GET /metrics and GET /token): for
the run since the mark in FILE (--since), or since each instance started. Instances are matched to
the mark by instance id; one that restarted since is counted from its start.

Options:
  --admin URL[,URL…]   each instance's admin URL (repeatable; host:port means http://host:port)
  --mark FILE          write a mark (every counter and histogram of each instance) and exit
  --since FILE         report from that mark
  --json FILE          also write the report as JSON (schema: docs/report.schema.json)
  --junit FILE         also write JUnit XML: one test case per gate (Jenkins junit, GitLab reports:junit)
  --fail-on EXPR       a gate, METRIC OP NUMBER (repeatable); the run fails when EXPR is true.
                       OP: ${OPERATORS.join(' ')}
  --inbound-key KEY    sent as x-sidecar-key (default: INBOUND_API_KEY from the environment)

Gate metrics:
${GATE_METRICS.map(([name, meaning]) => (name.length > 40 ? `  ${name}\n  ${''.padEnd(40)} ${meaning}` : `  ${name.padEnd(40)} ${meaning}`)).join('\n')}

Exit: 0 every gate held; 1 a gate failed (named on stderr and in the JUnit file); 2 bad usage, an
unreadable mark file, or an admin port that did not answer.
Examples:
  token-sidecar report --admin 127.0.0.1:9464 --mark run.mark
  token-sidecar report --admin 127.0.0.1:9464 --since run.mark --junit report.xml \\
    --fail-on 'client_401>0' --fail-on 'upstream_429_ratio>0.001' --fail-on 'token_requests>50'
`;
}
