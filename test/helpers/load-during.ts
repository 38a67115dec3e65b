import { runLoad, type LoadOptions, type LoadResult } from '../../src/demo/load.js';

/**
 * Closed-loop load (src/demo/load.ts) that lasts exactly as long as `scenario`: the scenario waits on
 * conditions (a refresh seen, a node killed, redis_up back to 1) while the clients keep sending, and
 * the load stops once it is done. So a run is as long as its events take on this machine, never a
 * guess in seconds. `maxMs` only bounds a scenario that hangs (its own waits time out first).
 */
export async function loadDuring<T>(
  load: Omit<LoadOptions, 'durationMs' | 'signal'> & { readonly maxMs?: number },
  scenario: () => Promise<T>,
): Promise<{ result: LoadResult; outcome: T }> {
  const stop = new AbortController();
  const running = runLoad({ ...load, durationMs: load.maxMs ?? 120_000, signal: stop.signal });
  let outcome: T;
  try {
    outcome = await scenario();
  } finally {
    stop.abort();
    // A scenario that failed reports its own error; the load's figures do not matter then.
    await running.catch(() => undefined);
  }
  return { result: await running, outcome };
}
