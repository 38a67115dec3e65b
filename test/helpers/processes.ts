import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export { freePort } from '../../src/demo/child-processes.js';
import { freePort } from '../../src/demo/child-processes.js';

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `node <args>` in `cwd` with `env` added to a clean environment (PATH only), output captured. */
export function startNode(args: string[], env: Record<string, string> = {}, cwd?: string): RunningProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return {
    child,
    output: () => output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Starts `node dist/cli.js <args>` with `env` added to a clean environment. */
export function startCli(args: string[], env: Record<string, string> = {}): RunningProcess {
  return startNode([CLI, ...args], env);
}

/** Polls `url` until it answers with `status` (default 200) or the timeout passes. */
export async function waitForHttp(url: string, opts: { status?: number; timeoutMs?: number; proc?: RunningProcess } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let last = '';
  while (Date.now() < deadline) {
    if (opts.proc && opts.proc.child.exitCode !== null) {
      throw new Error(`process exited (${opts.proc.child.exitCode}) before ${url} answered:\n${opts.proc.output()}`);
    }
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === (opts.status ?? 200)) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer ${opts.status ?? 200} in time (last: ${last})${opts.proc ? `\n${opts.proc.output()}` : ''}`);
}

/** Starts the mock upstream CLI on a free port and waits until it answers. */
export async function startMock(args: string[] = []): Promise<{ proc: RunningProcess; url: string; stats: () => Promise<MockStatsLike> }> {
  const port = await freePort();
  const proc = startCli(['mock', '--host', '127.0.0.1', '--port', String(port), ...args]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/__stats`, { proc });
  return { proc, url, stats: async () => (await (await fetch(`${url}/__stats`)).json()) as MockStatsLike };
}

export interface MockStatsLike {
  tokenRequests: { total: number; ok: number; failed: number; rateLimited: number };
  api: { total: number; byStatus: Record<string, number> };
}

/** Starts the sidecar CLI against an upstream, on free ports; waits for /readyz. */
export async function startSidecar(
  upstreamUrl: string,
  env: Record<string, string> = {},
  opts: { waitReady?: boolean } = {},
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
  await waitForHttp(`${adminUrl}/${opts.waitReady === false ? 'healthz' : 'readyz'}`, { proc });
  return { proc, url: `http://127.0.0.1:${port}`, adminUrl };
}
