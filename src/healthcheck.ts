/**
 * The container image's HEALTHCHECK: `node dist/healthcheck.js [pid]`. Exit 0 healthy, 1 unhealthy.
 *
 * Docker runs a health check as a separate process with the container's environment but not its
 * command line, and the image runs more than one command (`serve` answers /healthz on its admin port,
 * `mock` has no admin port and answers on its own). So the check reads the command line of the
 * token-sidecar process from /proc/<pid>/cmdline (PID 1 in the image: node itself, or docker-init with
 * node after it under `docker run --init`) and works out the port from that argv and this environment
 * with the same parsers the command used:
 * - `serve` (also no command, or flags only): GET /healthz on the admin address, as loadConfig reads
 *   it (`--admin-port` / `ADMIN_PORT`, `--admin-host` / `ADMIN_HOST`, defaults included);
 * - `mock`: GET /__stats on the mock's address (`--port` / `MOCK_PORT`, `--host` / `MOCK_HOST`);
 * - `demo`: nothing of its own listens for long (it starts its parts on free ports and ends), so
 *   the check only says the process is there.
 * It is liveness only; readiness (a valid token held) is the admin port's /readyz.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadConfig } from './config/load.js';
import { parseMockArgs } from './mock/options.js';

/** What the check asks: a URL that must answer 2xx, or nothing (the process being there is enough). */
export type HealthTarget = { readonly url: string } | { readonly url: undefined; readonly why: string };

/** The arguments after the CLI script (`…/cli.js`) in a process's argv, or undefined if it has none. */
export function cliArgsOf(cmdline: readonly string[]): string[] | undefined {
  const script = cmdline.findIndex((arg) => /(^|\/)cli\.js$/.test(arg));
  return script < 0 ? undefined : cmdline.slice(script + 1);
}

/**
 * Where the command `args` (as given to the CLI) answers, read the way that command reads its
 * settings. Throws the command's own usage error when its settings are invalid, as the command did.
 * The subcommand dispatch follows the CLI's: `mock`, `demo`, `serve`, or serve when the first
 * argument is a flag or absent.
 */
export function healthTarget(args: readonly string[], env: Record<string, string | undefined>): HealthTarget {
  const [first, ...rest] = args;
  if (first === 'mock') {
    const { host, port } = parseMockArgs(rest, env);
    return { url: `http://${reachable(host)}:${port}/__stats` };
  }
  if (first === 'demo') return { url: undefined, why: 'the demo runs its parts on free ports of its own' };
  const config = loadConfig(first === 'serve' ? rest : [...args], env);
  return { url: `http://${reachable(config.adminHost)}:${config.adminPort}/healthz` };
}

/** A listener bound to every interface is reached on loopback; any other address as it is. */
function reachable(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

async function main(pid: string): Promise<number> {
  let cmdline: string[];
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
  } catch (err) {
    process.stdout.write(`unhealthy: cannot read the command line of pid ${pid}: ${(err as Error).message}\n`);
    return 1;
  }
  const args = cliArgsOf(cmdline);
  if (args === undefined) {
    process.stdout.write(`unhealthy: pid ${pid} is not token-sidecar (${cmdline.slice(0, 3).join(' ')})\n`);
    return 1;
  }
  let target: HealthTarget;
  try {
    target = healthTarget(args, process.env);
  } catch (err) {
    process.stdout.write(`unhealthy: the command's settings do not parse: ${(err as Error).message}\n`);
    return 1;
  }
  if (target.url === undefined) {
    process.stdout.write(`healthy: pid ${pid} runs (${target.why})\n`);
    return 0;
  }
  try {
    const response = await fetch(target.url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    process.stdout.write(`${response.ok ? 'healthy' : 'unhealthy'}: GET ${target.url} answered ${response.status}\n`);
    return response.ok ? 0 : 1;
  } catch (err) {
    process.stdout.write(`unhealthy: GET ${target.url} failed: ${(err as Error).message}\n`);
    return 1;
  }
}

// Run only as the entry point, so tests can import the functions above.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv[2] ?? '1').then((code) => process.exit(code));
}
