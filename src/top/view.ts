import { STATUS_CLASSES, type Snapshot, type StatusClass } from './snapshot.js';

/**
 * `top`'s figures for one instance between two snapshots, the fleet's total, and how they are
 * drawn: a table redrawn in place on a terminal, one line per interval elsewhere.
 */
export interface Row {
  readonly name: string;
  /** Undefined: the instance did not answer this time (`error` says why). */
  readonly figures?: RowFigures;
  readonly error?: string;
}

export interface RowFigures {
  readonly requestsPerSecond: number;
  readonly perSecondByClass: Readonly<Record<StatusClass, number>>;
  readonly sidecarAnswersPerSecond: number;
  readonly poolSize: number | null;
  readonly budgetLeft: number | null;
  readonly tokenAgeSeconds: number | null;
  readonly nextRefreshSeconds: number | null;
  /** Since the instance started. */
  readonly replays: number;
  readonly rateLimited: number;
  readonly lockWaits: number;
  readonly lockWaitMsAverage: number | null;
}

/** Figures between `previous` and `current` (rates 0 on the first snapshot: there is no interval yet). */
export function rowFigures(previous: Snapshot | undefined, current: Snapshot): RowFigures {
  const seconds = previous ? Math.max(0.001, (current.at - previous.at) / 1000) : 0;
  const rate = (now: number, then: number | undefined) => (previous && then !== undefined && now >= then ? (now - then) / seconds : 0);
  const perSecondByClass = Object.fromEntries(STATUS_CLASSES.map((cls) => [cls, rate(current.upstreamByClass[cls], previous?.upstreamByClass[cls])])) as Record<StatusClass, number>;
  return {
    requestsPerSecond: rate(current.upstreamTotal, previous?.upstreamTotal),
    perSecondByClass,
    sidecarAnswersPerSecond: rate(current.clientBySidecar, previous?.clientBySidecar),
    poolSize: current.poolSize,
    budgetLeft: current.budgetLeft,
    tokenAgeSeconds: current.tokenAgeSeconds,
    nextRefreshSeconds: current.nextRefreshSeconds,
    replays: current.replays,
    rateLimited: current.rateLimited,
    lockWaits: current.lockWaits,
    lockWaitMsAverage: current.lockWaits === 0 ? null : (current.lockWaitSeconds / current.lockWaits) * 1000,
  };
}

/**
 * The fleet: rates and counts add up; the pool is fleet-wide, so its size is the largest any
 * instance reports and the budget the smallest (each instance reads the same tokens' fleet count).
 */
export function totalOf(rows: readonly RowFigures[]): RowFigures | undefined {
  if (rows.length === 0) return undefined;
  const add = (read: (r: RowFigures) => number) => rows.reduce((n, r) => n + read(r), 0);
  const pick = (read: (r: RowFigures) => number | null, how: 'max' | 'min') => {
    const values = rows.map(read).filter((v): v is number => v !== null);
    return values.length === 0 ? null : how === 'max' ? Math.max(...values) : Math.min(...values);
  };
  const lockWaits = add((r) => r.lockWaits);
  const lockWaitMs = add((r) => (r.lockWaitMsAverage ?? 0) * r.lockWaits);
  return {
    requestsPerSecond: add((r) => r.requestsPerSecond),
    perSecondByClass: Object.fromEntries(STATUS_CLASSES.map((cls) => [cls, add((r) => r.perSecondByClass[cls])])) as Record<StatusClass, number>,
    sidecarAnswersPerSecond: add((r) => r.sidecarAnswersPerSecond),
    poolSize: pick((r) => r.poolSize, 'max'),
    budgetLeft: pick((r) => r.budgetLeft, 'min'),
    tokenAgeSeconds: pick((r) => r.tokenAgeSeconds, 'max'),
    nextRefreshSeconds: pick((r) => r.nextRefreshSeconds, 'min'),
    replays: add((r) => r.replays),
    rateLimited: add((r) => r.rateLimited),
    lockWaits,
    lockWaitMsAverage: lockWaits === 0 ? null : lockWaitMs / lockWaits,
  };
}

const HEADERS = ['instance', 'req/s', '2xx/s', '3xx/s', '4xx/s', '5xx/s', 'err/s', 'own/s', 'pool', 'budget', 'token age', 'refresh in', 'replays', '429 acts', 'lock waits', 'wait ms'];

/** The full-screen table (TTY). */
export function renderScreen(rows: readonly Row[], total: RowFigures | undefined, now: Date): string[] {
  const cells = (name: string, f: RowFigures | undefined, error?: string): string[] =>
    f === undefined
      ? [name, error ?? 'unreachable']
      : [
          name,
          num(f.requestsPerSecond),
          ...(['2xx', '3xx', '4xx', '5xx', 'error'] as const).map((cls) => num(f.perSecondByClass[cls])),
          num(f.sidecarAnswersPerSecond),
          opt(f.poolSize),
          opt(f.budgetLeft),
          seconds(f.tokenAgeSeconds),
          seconds(f.nextRefreshSeconds),
          String(f.replays),
          String(f.rateLimited),
          String(f.lockWaits),
          f.lockWaitMsAverage === null ? '-' : f.lockWaitMsAverage.toFixed(1),
        ];
  const table = [HEADERS, ...rows.map((row) => cells(row.name, row.figures, row.error)), cells('TOTAL', total)];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((r) => (r.length > 2 || i === 0 ? r[i]?.length ?? 0 : 0))));
  const line = (r: string[]) => (r.length === 2 && r !== HEADERS ? `${r[0]!.padEnd(widths[0]!)}  ${r[1]}` : r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  return [
    `token-sidecar top: ${rows.length} instance${rows.length === 1 ? '' : 's'}, ${now.toISOString().slice(11, 19)} UTC   (q quits; rates per second over the last interval; replays, 429 actions and lock waits since start)`,
    '',
    ...table.map(line),
  ];
}

/** One line for an interval (no TTY): the fleet's total. */
export function renderLine(rows: readonly Row[], total: RowFigures | undefined, now: Date): string {
  const down = rows.filter((row) => row.figures === undefined).length;
  if (total === undefined) return `${now.toISOString()} no instance answered`;
  const f = total;
  return [
    now.toISOString(),
    `instances=${rows.length - down}/${rows.length}`,
    `req/s=${num(f.requestsPerSecond)}`,
    `2xx/s=${num(f.perSecondByClass['2xx'])}`,
    `4xx/s=${num(f.perSecondByClass['4xx'])}`,
    `5xx/s=${num(f.perSecondByClass['5xx'])}`,
    `err/s=${num(f.perSecondByClass.error)}`,
    `own/s=${num(f.sidecarAnswersPerSecond)}`,
    `pool=${opt(f.poolSize)}`,
    `budget=${opt(f.budgetLeft)}`,
    `token_age=${seconds(f.tokenAgeSeconds)}`,
    `refresh_in=${seconds(f.nextRefreshSeconds)}`,
    `replays=${f.replays}`,
    `rate_limited=${f.rateLimited}`,
    `lock_waits=${f.lockWaits}`,
  ].join(' ');
}

function num(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

function opt(n: number | null): string {
  return n === null ? '-' : String(Math.round(n));
}

function seconds(n: number | null): string {
  if (n === null) return '-';
  if (n < 120) return `${Math.round(n)}s`;
  if (n < 7200) return `${Math.floor(n / 60)}m${String(Math.round(n % 60)).padStart(2, '0')}s`;
  return `${Math.floor(n / 3600)}h${String(Math.floor((n % 3600) / 60)).padStart(2, '0')}m`;
}
