/** Shared by the configuration's parts: how they read files and report problems, and what a credential is as read. */

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
