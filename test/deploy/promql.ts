/**
 * The series names a PromQL expression (or a Grafana query) reads. Not a PromQL parser: it drops
 * what cannot hold a series name (strings, label matchers, ranges, grouping label lists, numbers,
 * Grafana variables) and keeps identifiers that are not functions or keywords. Enough to catch a
 * misspelt or renamed metric in the dashboard and the alert rules.
 */

const KEYWORDS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool',
  'offset', 'inf', 'nan',
]);

/** Removes every balanced `open ... close` span, brackets included. */
function dropSpans(text: string, open: string, close: string): string {
  let out = '';
  let depth = 0;
  for (const ch of text) {
    if (ch === open) depth++;
    else if (ch === close && depth > 0) depth--;
    else if (depth === 0) out += ch;
  }
  return out;
}

export function seriesNames(expr: string): string[] {
  let text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  text = dropSpans(text, '{', '}');
  text = dropSpans(text, '[', ']');
  // Grafana's label_values(metric, label): the label is not a series.
  text = text.replace(/\blabel_values\s*\(([^,()]*(?:\([^)]*\))?[^,()]*),\s*\w+\s*\)/g, 'label_values($1)');

  const names = new Set<string>();
  const token = /\$\{?\w+\}?|\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*|[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (const match of text.matchAll(token)) {
    const word = match[0];
    if (word.startsWith('$') || /^\d/.test(word) || KEYWORDS.has(word.toLowerCase())) continue;
    const after = text.slice((match.index ?? 0) + word.length).trimStart();
    if (after.startsWith('(')) continue; // a function call
    names.add(word);
  }
  return [...names];
}
