import type { LoadResult } from './load.js';

export interface Progress {
  /** Redraws the line with the figures of a phase so far. */
  show(phase: string, soFar: LoadResult, durationMs: number): void;
  /** Erases the line (before the table is printed). */
  clear(): void;
}

const noProgress: Progress = { show() {}, clear() {} };

/**
 * One self-overwriting status line on a terminal; nothing at all when output goes to a file or a
 * pipe, so logs and tests get the table alone.
 */
export function progressOn(stream: NodeJS.WriteStream): Progress {
  if (!stream.isTTY) return noProgress;
  return {
    show(phase, soFar, durationMs) {
      const seconds = Math.min(soFar.durationMs, durationMs) / 1000;
      const count = (status: number) => (soFar.byStatus[String(status)] ?? 0).toLocaleString('en-US');
      stream.write(
        `\r\x1b[K  ${phase}: ${seconds.toFixed(0)}/${(durationMs / 1000).toFixed(0)} s, ` +
          `${soFar.requests.toLocaleString('en-US')} requests, ${count(401)} 401s, ${count(429)} 429s, ` +
          `${soFar.requestsPerSecond.toLocaleString('en-US')} req/s`,
      );
    },
    clear() {
      stream.write('\r\x1b[K');
    },
  };
}
