/**
 * The built CLI (`dist/cli.js`) as tests start it: the mock and sidecars on free loopback ports,
 * waited on until they answer. Processes are started and tracked by src/harness/child-processes.ts
 * (the demo and the benchmark use the same starter); a test keeps their whole output, which the
 * secret-leak test searches.
 */
import { freePort, startCli as startPackageCli, startProcess, type RunningProcess } from '../../src/harness/child-processes.js';
import { waitForHttp as waitForHttpAnswer } from '../../src/harness/wait-for.js';

export { CLI_PATH as CLI, freePort, type RunningProcess } from '../../src/harness/child-processes.js';

/** Starts `node <args>` in `cwd` with `env` added to a clean environment (PATH only), all output kept. */
export function startNode(args: string[], env: Record<string, string> = {}, cwd?: string): RunningProcess {
  return startProcess(process.execPath, args, { name: 'node', env, cwd, outputTailBytes: Infinity });
}

/** Starts `node dist/cli.js <args>` with `env` added to a clean environment, all output kept. */
export function startCli(args: string[], env: Record<string, string> = {}): RunningProcess {
  return startPackageCli(args, { name: `token-sidecar ${args[0] ?? ''}`.trim(), env, outputTailBytes: Infinity });
}

/**
 * How long a process started by a test may take to answer. Generous: on a 2-core machine shared with
 * other work, a sidecar with WORKERS=2 (three Node processes loading at once) took 14 s to be ready.
 */
const START_TIMEOUT_MS = 45_000;

/** Waits until `url` answers `status` (default 200); fails at once when `proc` ends first. */
export async function waitForHttp(url: string, opts: { status?: number; timeoutMs?: number; proc?: RunningProcess } = {}): Promise<void> {
  await waitForHttpAnswer(url, { status: opts.status, timeoutMs: opts.timeoutMs ?? START_TIMEOUT_MS, process: opts.proc });
}

/** Waits for `url` to answer 200; a process that never does is killed, so it cannot outlive the failed test. */
async function untilAnswering(url: string, proc: RunningProcess): Promise<void> {
  try {
    await waitForHttp(url, { proc });
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
}

/**
 * Starts a process on ports picked by freePort, again on new ports when it could not listen because
 * another process took one in between: freePort closes the port it found before the child binds it,
 * and with test files running side by side an outgoing connection of another process may be given
 * that port meanwhile (the kernel draws ephemeral ports from the same range). Anything else that
 * stops the start fails at once.
 */
async function onFreePorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 3 || !/already in use/.test((err as Error).message)) throw err;
    }
  }
}

export interface MockStatsLike {
  tokenRequests: { total: number; ok: number; failed: number; rateLimited: number };
  api: { total: number; byStatus: Record<string, number> };
}

/** Starts the mock upstream CLI on a free port and waits until it answers. */
export function startMock(args: string[] = []): Promise<{ proc: RunningProcess; url: string; stats: () => Promise<MockStatsLike> }> {
  return onFreePorts(() => startMockOnce(args));
}

async function startMockOnce(args: string[]): Promise<{ proc: RunningProcess; url: string; stats: () => Promise<MockStatsLike> }> {
  const port = await freePort();
  const proc = startCli(['mock', '--host', '127.0.0.1', '--port', String(port), ...args]);
  const url = `http://127.0.0.1:${port}`;
  await untilAnswering(`${url}/__stats`, proc);
  return { proc, url, stats: async () => (await (await fetch(`${url}/__stats`)).json()) as MockStatsLike };
}

/** Starts the sidecar CLI against an upstream, on free ports; waits for /readyz. */
export function startSidecar(
  upstreamUrl: string,
  env: Record<string, string> = {},
  opts: { waitReady?: boolean } = {},
): Promise<{ proc: RunningProcess; url: string; adminUrl: string }> {
  return onFreePorts(() => startSidecarOnce(upstreamUrl, env, opts));
}

async function startSidecarOnce(
  upstreamUrl: string,
  env: Record<string, string>,
  opts: { waitReady?: boolean },
): Promise<{ proc: RunningProcess; url: string; adminUrl: string }> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const proc = startCli([], {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
    GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: upstreamUrl,
    TOKEN_URL: `${upstreamUrl}/oauth/token`,
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    LOG_LEVEL: 'warn',
    ...env,
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await untilAnswering(`${adminUrl}/${opts.waitReady === false ? 'healthz' : 'readyz'}`, proc);
  return { proc, url: `http://127.0.0.1:${port}`, adminUrl };
}
