/**
 * Waiting on a condition instead of sleeping: the one poll loop of the demo, the tests and the
 * benchmark. A wait ends as soon as its condition holds, fails with a message naming what it waited
 * for once the timeout passes, and fails at once when the process it depends on has ended.
 */
import type { RunningProcess } from './child-processes.js';

export interface WaitOptions {
  /** Give up after this long (default 15 s). */
  readonly timeoutMs?: number;
  /** Pause between two checks (default 20 ms). */
  readonly intervalMs?: number;
  /** What is awaited, for the error message. */
  readonly what?: string;
  /** The process the condition depends on: its end fails the wait at once, and its output goes into the error. */
  readonly process?: RunningProcess;
}

/**
 * Checks `condition` until it returns true. A condition that throws counts as "not yet" (a server
 * still starting refuses connections); its last error goes into the timeout message.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = performance.now() + timeoutMs;
  const what = opts.what ?? 'condition';
  const outputOf = (proc: RunningProcess) => `\n${proc.name} (pid ${proc.pid}) output:\n${proc.output()}`;
  let last = '';
  for (;;) {
    if (opts.process?.ended) throw new Error(`${opts.process.name} ended before ${what}${outputOf(opts.process)}`);
    try {
      if (await condition()) return;
      last = '';
    } catch (err) {
      last = ` (last: ${(err as Error).message})`;
    }
    if (performance.now() >= deadline) {
      throw new Error(`${what}: not met within ${timeoutMs} ms${last}${opts.process ? outputOf(opts.process) : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 20));
  }
}

/** Waits until `url` answers `status` (default 200). */
export async function waitForHttp(url: string, opts: WaitOptions & { readonly status?: number } = {}): Promise<void> {
  const expected = opts.status ?? 200;
  await waitFor(
    async () => {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status !== expected) throw new Error(`HTTP ${response.status}`);
      return true;
    },
    { intervalMs: 50, ...opts, what: opts.what ?? `${url} answering ${expected}` },
  );
}
