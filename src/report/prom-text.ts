/**
 * A small reader of the Prometheus text exposition format (version 0.0.4, what prom-client
 * writes): `# TYPE` lines and samples, label values unescaped, `NaN` and `±Inf` read as numbers.
 * `# HELP` lines and timestamps are skipped. A line it cannot read is an error naming the line.
 */

/** One sample: a series name (with `_bucket`, `_sum`, `_count` as written), its labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Exposition {
  readonly samples: readonly Sample[];
  /** The declared type of each metric family, by family name. */
  readonly types: ReadonlyMap<string, MetricType>;
}

export class ExpositionError extends Error {}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, MetricType>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const typeLine = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (typeLine && TYPES.has(typeLine[2] as MetricType)) types.set(typeLine[1]!, typeLine[2] as MetricType);
      continue;
    }
    try {
      samples.push(parseSample(line));
    } catch (err) {
      throw new ExpositionError(`line ${i + 1}: ${(err as Error).message}: ${line.slice(0, 200)}`);
    }
  }
  return { samples, types };
}

function parseSample(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error('no metric name');
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const labelName = LABEL_NAME.exec(rest)?.[0];
      if (!labelName) throw new Error('bad label name');
      rest = rest.slice(labelName.length).trimStart();
      if (!rest.startsWith('="')) throw new Error(`label ${labelName} has no quoted value`);
      rest = rest.slice(2);
      let value = '';
      let end = 0;
      for (; end < rest.length && rest[end] !== '"'; end++) {
        if (rest[end] === '\\') {
          const escaped = rest[++end];
          value += escaped === 'n' ? '\n' : escaped ?? '';
        } else {
          value += rest[end];
        }
      }
      if (end >= rest.length) throw new Error(`label ${labelName} value is not closed`);
      labels[labelName] = value;
      rest = rest.slice(end + 1).trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error('expected , or } after a label');
    }
  }
  const [valueText] = rest.trim().split(/\s+/);
  const value = parseValue(valueText ?? '');
  return { name, labels, value };
}

function parseValue(text: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`bad sample value "${text}"`);
  return value;
}

/** The family a sample belongs to: its name less a histogram's or summary's suffix when the family is declared so. */
export function familyOf(name: string, types: ReadonlyMap<string, MetricType>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const family = name.slice(0, -suffix.length);
      const type = types.get(family);
      if (type === 'histogram' || type === 'summary') return family;
    }
  }
  return name;
}
