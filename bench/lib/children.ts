import { join } from 'node:path';
import { CLI_PATH, PACKAGE_ROOT, startProcess, type RunningProcess } from '../../src/harness/child-processes.js';
import { waitForHttp as waitForHttpAnswer } from '../../src/harness/wait-for.js';

/**
 * Every process the benchmark starts (upstreams, proxies, Redis, nginx) goes through the shared
 * starter (src/harness/child-processes.ts), so none outlives it: `stopAllChildren()` ends them
 * politely, and an `exit` hook kills whatever is left when the benchmark ends some other way.
 */
export const REPO_ROOT = PACKAGE_ROOT;
export { CLI_PATH, freePort, stopAllProcesses as stopAllChildren } from '../../src/harness/child-processes.js';

export type Child = RunningProcess;

/**
 * Starts `command args` from the repository root with `env` added to PATH alone (no inherited
 * settings). `onExit` runs once it has ended (e.g. to remove its temporary files).
 */
export function startChild(
  name: string,
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
  onExit?: () => void,
): Child {
  const child = startProcess(command, args, { name, env, cwd: REPO_ROOT });
  if (onExit) void child.exited.then(onExit);
  return child;
}

/** A server of bench/servers/ (plain JavaScript, so no TypeScript loader runs beside it). */
export function startBenchServer(
  name: string,
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Child {
  return startChild(name, process.execPath, [...nodeArgs, join(REPO_ROOT, 'bench/servers', script), ...args], env);
}

/** `node [nodeArgs] dist/cli.js args`. */
export function startCli(name: string, args: readonly string[], env: Record<string, string>, nodeArgs: readonly string[] = []): Child {
  return startChild(name, process.execPath, [...nodeArgs, CLI_PATH, ...args], env);
}

/** Waits until `url` answers `status` (default 200); fails at once when `child` ends first. */
export async function waitForHttp(url: string, child: Child, opts: { status?: number; timeoutMs?: number } = {}): Promise<void> {
  await waitForHttpAnswer(url, { status: opts.status, timeoutMs: opts.timeoutMs ?? 20_000, process: child });
}
