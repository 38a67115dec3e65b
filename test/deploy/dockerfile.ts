/**
 * Reads a Dockerfile into stages of instructions, the way BuildKit groups them: line continuations
 * joined, comments and parser directives dropped, `ARG`s declared before the first FROM substituted
 * into FROM lines. Enough to check the image's shape without a Docker daemon.
 */

export interface Instruction {
  keyword: string;
  /** The arguments as written, continuation lines joined with a space. */
  args: string;
  line: number;
}

export interface Stage {
  /** The FROM image with global ARG defaults substituted. */
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line) && pending === undefined) return; // comments (and directives) between instructions
    if (/^\s*#/.test(line)) return; // a comment inside a continued instruction is dropped too
    if (pending === undefined && line.trim() === '') return;
    const continued = /\\\s*$/.test(line);
    const part = continued ? line.replace(/\\\s*$/, '') : line;
    pending = pending === undefined ? { text: part, line: index + 1 } : { ...pending, text: `${pending.text} ${part.trim()}` };
    if (!continued) {
      const match = /^\s*(\S+)\s*(.*)$/s.exec(pending.text);
      if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: pending.line });
      pending = undefined;
    }
  });

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--platform'));
      const image = (words[0] ?? '').replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
        const name = a ?? b ?? '';
        return globalArgs[name] ?? '';
      });
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ image, name: asIndex >= 0 ? words[asIndex + 1] : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new SyntaxError(`line ${instruction.line}: only ARG may precede FROM`);
      const [name, value] = instruction.args.split('=', 2);
      if (name !== undefined) globalArgs[name.trim()] = (value ?? '').trim().replace(/^"(.*)"$/, '$1');
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** The JSON array of an exec-form instruction (`["node", "x"]`), or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? (parsed as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** `KEY=value KEY2="v 2"` (or the legacy `KEY value`) as pairs. */
export function envPairs(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (!args.includes('=')) {
    const [key, ...rest] = args.split(/\s+/);
    if (key) pairs[key] = rest.join(' ');
    return pairs;
  }
  for (const match of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    pairs[match[1]!] = match[2]!.replace(/^"(.*)"$/s, '$1');
  }
  return pairs;
}

/** One `--mount=` option of a RUN as key/value pairs (`type=secret,id=x,target=/p`). */
export type Mount = Record<string, string>;

/** A RUN's leading `--mount=` options and the command after them (other RUN options are kept in it). */
export function runMounts(args: string): { mounts: Mount[]; command: string } {
  const mounts: Mount[] = [];
  let rest = args.trimStart();
  for (let match = /^--mount=(\S+)\s+/.exec(rest); match; match = /^--mount=(\S+)\s+/.exec(rest)) {
    mounts.push(Object.fromEntries(match[1]!.split(',').map((pair) => [pair.split('=')[0]!, pair.slice(pair.indexOf('=') + 1)])));
    rest = rest.slice(match[0].length);
  }
  return { mounts, command: rest };
}
