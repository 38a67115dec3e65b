import { readFileSync, statSync, type Stats } from 'node:fs';
import type { Parsed } from './settings.js';

/**
 * A `*_FILE` setting whose file may be replaced while the sidecar runs (a Kubernetes Secret mounted
 * as files: the kubelet writes the new files into a fresh directory and swaps the `..data` symlink,
 * so the path resolves to a different file at once; `mv` over the old file does the same).
 *
 * `current` is read where the value is used (a token request, a Redis connection), so the next use
 * after a change carries the new value. It costs one stat() of the path per read; a change of the
 * file's identity (device, inode), size or times makes it read the file again. What it read is
 * kept only if it parses: an empty file, one that cannot be read, or one that does not parse (a
 * half-written key) keeps the previous value, and that is reported once per file state, naming the
 * setting and the path, never the content. A file written in place (not renamed) is taken once it
 * reads non-empty and its stat did not change while it was read.
 *
 * The first value is read by the configuration loader, which reports problems at start (exit 2);
 * this class only takes over after that. Its state lives in private fields, so the frozen
 * configuration it sits in does not freeze it.
 */
export class SecretFile<T> {
  #value: T;
  #seen: string;
  #reported = '';

  /**
   * @param path as given (relative to the working directory or already resolved)
   * @param where how a report names it: `OAUTH_CLIENT_SECRET_FILE (--client-secret-file)`
   * @param initial the value the loader already read from the file
   */
  constructor(
    readonly path: string,
    readonly where: string,
    private readonly parse: (text: string) => Parsed<T>,
    initial: T,
  ) {
    this.#value = initial;
    this.#seen = fingerprint(this.path);
  }

  /** The newest good value: re-read when the file changed since the last read. */
  get current(): T {
    const before = fingerprint(this.path);
    if (before === this.#seen) return this.#value;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      this.report(before, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return this.#value;
    }
    // Changed while we read it: a writer is still at work; look again at the next use.
    if (fingerprint(this.path) !== before) return this.#value;
    const parsed = this.parse(text);
    if (!parsed.ok) {
      this.report(before, parsed.rule);
      return this.#value;
    }
    this.#value = parsed.value;
    this.#seen = before;
    return this.#value;
  }

  private report(state: string, rule: string): void {
    if (this.#reported === state) return;
    this.#reported = state;
    for (const listener of problemListeners) listener({ setting: this.where, file: this.path, problem: rule });
  }
}

/** A changed secret file that could not be used; the previous value stays in use. Never the content. */
export interface SecretFileProblem {
  readonly setting: string;
  readonly file: string;
  readonly problem: string;
}

const problemListeners = new Set<(problem: SecretFileProblem) => void>();

/**
 * Hears every SecretFile's problems (serve.ts logs them). Process-wide because the files are read
 * deep inside token requests and connections, where no logger is passed.
 */
export function onSecretFileProblem(listener: (problem: SecretFileProblem) => void): () => void {
  problemListeners.add(listener);
  return () => problemListeners.delete(listener);
}

/**
 * Makes `target[field]` read `file.current` (an enumerable getter, so spreading or printing the
 * object sees a plain value); for configuration objects built before they are frozen.
 */
export function readFromFile<O extends object, K extends keyof O & string>(target: O, field: K, file: SecretFile<O[K]>): O {
  Object.defineProperty(target, field, { get: () => file.current, enumerable: true, configurable: false });
  return target;
}

/** What identifies one state of the file behind `path` (following symlinks); '' when it is missing. */
function fingerprint(path: string): string {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    return '';
  }
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}
