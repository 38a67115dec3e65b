/**
 * The flag reader `report` and `top` share: `--flag value` or `--flag=value`, repeatable flags
 * collected in order, every problem reported at once (each naming its flag).
 */
export interface ParsedFlags {
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly booleans: ReadonlySet<string>;
  readonly problems: readonly string[];
}

export function parseFlags(argv: readonly string[], spec: { valued: readonly string[]; repeatable?: readonly string[]; booleans?: readonly string[] }): ParsedFlags {
  const values = new Map<string, string[]>();
  const booleans = new Set<string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (spec.booleans?.includes(flag)) {
      if (equals !== -1) problems.push(`${flag}: takes no value`);
      booleans.add(flag);
    } else if (spec.valued.includes(flag)) {
      const next = argv[i + 1];
      const value = equals !== -1 ? arg.slice(equals + 1) : next !== undefined && !next.startsWith('--') ? next : undefined;
      if (equals === -1 && value !== undefined) i++;
      if (value === undefined || value.trim() === '') {
        problems.push(`${flag}: needs a value (${flag} value or ${flag}=value)`);
        continue;
      }
      const list = values.get(flag) ?? [];
      if (list.length > 0 && !spec.repeatable?.includes(flag)) problems.push(`${flag}: given more than once`);
      list.push(value.trim());
      values.set(flag, list);
    } else {
      problems.push(`${arg}: unknown option`);
    }
  }
  return { values, booleans, problems };
}
