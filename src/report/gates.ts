import type { Figures } from './figures.js';

/**
 * `--fail-on EXPR` gates: `metric op number`, e.g. `client_401>0`, `upstream_429_ratio>0.001`,
 * `added_p99_ms>5`. A gate fails when its expression is true (`--fail-on`), and also when its
 * metric cannot be read for this fleet (`added_*` where an instance lacks the histogram): a gate
 * that cannot be checked does not pass. GATE_METRICS is the documented list (docs/report.md).
 */

export const OPERATORS = ['>=', '<=', '==', '!=', '>', '<'] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Gate {
  /** As given on the command line. */
  readonly expression: string;
  readonly metric: string;
  readonly operator: Operator;
  readonly threshold: number;
}

export interface GateResult extends Gate {
  /** The metric's value over the report's window; null when it cannot be read (n/a). */
  readonly value: number | null;
  readonly held: boolean;
  /** One line for stderr and the JUnit failure: the gate, the value, and why it failed. */
  readonly message: string;
}

export class GateSyntaxError extends Error {}

const REPLAY_RESULTS = ['success', 'unauthorized', 'not_replayable', 'no_token'];
const RATE_LIMITED_ACTIONS = ['replayed', 'passed', 'waited', 'rejected'];
const TOKEN_RESULTS = ['success', 'rejected', 'rate_limited', 'server_error', 'network', 'timeout', 'malformed'];
const LOCK_RESULTS = ['acquired', 'contended', 'failed'];

/** Every metric a gate may name, with what it is; `NNN` is a status code, `Nxx` a class (`5xx`). */
export const GATE_METRICS: ReadonlyArray<readonly [name: string, meaning: string]> = [
  ['upstream_requests', 'requests sent upstream: answers plus errors'],
  ['upstream_responses', 'answers the upstream gave'],
  ['upstream_errors', 'requests that got no upstream answer (refused, reset, timed out)'],
  ['upstream_NNN, upstream_Nxx', 'upstream answers with that status code or class'],
  ['upstream_NNN_ratio, upstream_Nxx_ratio', 'the same over upstream_responses (0 when there is none)'],
  ['client_responses', 'answers the clients got'],
  ['client_NNN, client_Nxx', 'client answers with that status code or class, whoever gave them'],
  ['client_NNN_ratio, client_Nxx_ratio', 'the same over client_responses'],
  ['sidecar_answers', 'client answers the sidecar gave itself (its errors and refusals, an unreachable upstream)'],
  ['sidecar_NNN, sidecar_Nxx', 'those with that status code or class'],
  ['replays', 'requests that met an upstream 401'],
  [`replays_{${REPLAY_RESULTS.join(',')}}`, 'those by how the replay ended'],
  ['rate_limited', 'requests that met an exhausted rate budget'],
  [`rate_limited_{${RATE_LIMITED_ACTIONS.join(',')}}`, 'those by what happened'],
  ['token_requests', 'calls to the token endpoint'],
  [`token_requests_{${TOKEN_RESULTS.join(',')}}`, 'those by result'],
  ['token_requests_failed', 'token requests that did not succeed'],
  ['pool_size_peak', 'the largest pool size any instance had (since its start)'],
  [`lock_{${LOCK_RESULTS.join(',')}}`, 'refresh lock attempts by result'],
  ['lock_wait_p99_ms', 'p99 of the lock wait, milliseconds'],
  ['added_p50_ms, added_p99_ms', "the sidecar's added latency, milliseconds (n/a: the gate fails)"],
  ['refusals', 'requests the sidecar refused (MAX_REQUESTS, halt, TEST_WINDOW)'],
  ['refusals_REASON', 'those by reason'],
];

export function parseGate(expression: string): Gate {
  const match = /^\s*([a-z0-9_]+)\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*$/i.exec(expression);
  if (!match) {
    throw new GateSyntaxError(`--fail-on "${expression}": expected METRIC OP NUMBER, e.g. client_401>0 (operators ${OPERATORS.join(' ')})`);
  }
  const gate: Gate = { expression, metric: match[1]!.toLowerCase(), operator: match[2] as Operator, threshold: Number(match[3]) };
  if (valueOf(gate.metric, undefined) === UNKNOWN) {
    throw new GateSyntaxError(`--fail-on "${expression}": unknown metric "${gate.metric}" (see token-sidecar report --help)`);
  }
  return gate;
}

export function evaluate(gate: Gate, figures: Figures): GateResult {
  const value = valueOf(gate.metric, figures) as number | null;
  if (value === null) {
    return { ...gate, value, held: false, message: `${gate.expression}: ${gate.metric} is n/a (an instance lacks the metric), so the gate cannot hold` };
  }
  const tripped = compare(value, gate.operator, gate.threshold);
  const shown = formatValue(value);
  return tripped
    ? { ...gate, value, held: false, message: `${gate.expression}: failed, ${gate.metric} = ${shown}` }
    : { ...gate, value, held: true, message: `${gate.expression}: held, ${gate.metric} = ${shown}` };
}

function compare(value: number, operator: Operator, threshold: number): boolean {
  switch (operator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

export function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

const UNKNOWN = Symbol('unknown metric');

/**
 * The value of a gate metric; `UNKNOWN` for a name not in GATE_METRICS. With `figures` undefined
 * it only checks the name (returning 0 for a known one), so parsing and evaluation share one table.
 */
function valueOf(metric: string, figures: Figures | undefined): number | null | typeof UNKNOWN {
  const f = figures;
  const zeroIfNone = (read: (f: Figures) => number | null) => (f === undefined ? 0 : read(f));
  switch (metric) {
    case 'upstream_requests':
      return zeroIfNone((f) => f.upstream.responses + f.upstream.errors);
    case 'upstream_responses':
      return zeroIfNone((f) => f.upstream.responses);
    case 'upstream_errors':
      return zeroIfNone((f) => f.upstream.errors);
    case 'client_responses':
      return zeroIfNone((f) => f.client.responses);
    case 'sidecar_answers':
      return zeroIfNone((f) => f.client.sidecar.responses);
    case 'replays':
      return zeroIfNone((f) => f.replays.total);
    case 'rate_limited':
      return zeroIfNone((f) => f.rateLimited.total);
    case 'token_requests':
      return zeroIfNone((f) => f.tokenRequests.total);
    case 'token_requests_failed':
      return zeroIfNone((f) => f.tokenRequests.total - (f.tokenRequests.by.success ?? 0));
    case 'pool_size_peak':
      return zeroIfNone((f) => f.poolSizePeak.max);
    case 'lock_wait_p99_ms':
      return zeroIfNone((f) => f.lock.wait.p99Ms ?? 0);
    case 'added_p50_ms':
      return zeroIfNone((f) => (f.addedLatency === null ? null : f.addedLatency.p50Ms ?? 0));
    case 'added_p99_ms':
      return zeroIfNone((f) => (f.addedLatency === null ? null : f.addedLatency.p99Ms ?? 0));
    case 'refusals':
      return zeroIfNone((f) => f.refusals.total);
  }
  const status = /^(upstream|client|sidecar)_([1-5](?:\d\d|xx))(_ratio)?$/.exec(metric);
  if (status && !(status[1] === 'sidecar' && status[3])) {
    const [, side, code, ratio] = status;
    return zeroIfNone((f) => {
      const { byCode, total } =
        side === 'upstream' ? { byCode: f.upstream.byCode, total: f.upstream.responses } : side === 'client' ? { byCode: f.client.byCode, total: f.client.responses } : { byCode: f.client.sidecar.byCode, total: f.client.sidecar.responses };
      const count = countOf(byCode, code!);
      return ratio ? (total === 0 ? 0 : count / total) : count;
    });
  }
  const labelled = /^(replays|rate_limited|token_requests|lock|refusals)_([a-z_]+)$/.exec(metric);
  if (labelled) {
    const [, family, key] = labelled;
    const known = { replays: REPLAY_RESULTS, rate_limited: RATE_LIMITED_ACTIONS, token_requests: TOKEN_RESULTS, lock: LOCK_RESULTS, refusals: undefined }[family!];
    if (known && !known.includes(key!)) return UNKNOWN;
    return zeroIfNone((f) => {
      const tally = { replays: f.replays, rate_limited: f.rateLimited, token_requests: f.tokenRequests, lock: f.lock.acquisitions, refusals: f.refusals }[family!]!;
      return tally.by[key!] ?? 0;
    });
  }
  return UNKNOWN;
}

/** Answers with code `code` (`429`) or in class `code` (`4xx`). */
function countOf(byCode: Readonly<Record<string, number>>, code: string): number {
  if (!code.endsWith('xx')) return byCode[code] ?? 0;
  return Object.entries(byCode)
    .filter(([status]) => status.length === 3 && status[0] === code[0])
    .reduce((sum, [, n]) => sum + n, 0);
}
