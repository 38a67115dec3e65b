/** Shared by the configuration readers (load.ts, profiles.ts, profile-provider.ts). */

export type ReadFile = (path: string) => string;

/** What reading needs besides the settings: a way to read files and a place to report problems. */
export interface Io {
  readonly readFile: ReadFile;
  readonly report: (problem: string) => void;
}

/** Marks a credential that was given but is unusable; its problem is already recorded. */
export const REPORTED = Symbol('reported');
/** A credential as read: its value, `undefined` when not given, or REPORTED. */
export type Credential = string | undefined | typeof REPORTED;

/** A read failure as a problem may show it: the error code, never the file's content. */
export function describeReadError(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}
