/**
 * `token-sidecar demo`: the product's case in one command. An in-process Genesys mock with short
 * tokens and Genesys's per-token rate limit, then the same paced load twice: each client managing its
 * own token, then through real sidecar processes with their default settings (two sharing Redis when
 * one is given, else one), whose token pool sizes itself. Prints both side by side. Every child
 * process is stopped before it returns, Ctrl-C included.
 *
 * The mock does not revoke older tokens on issue: Genesys is not known to (docs/genesys.md §3), and
 * a pool of tokens cannot work against an upstream that does.
 */
import { buildMockUpstream, type MockUpstream } from '../mock/app.js';
import { stopAllProcesses } from '../harness/child-processes.js';
import { getStatus, runLoad, type LoadOptions } from './load.js';
import { NaiveClients } from './naive-client.js';
import { DEMO_RATE_LIMIT, DemoUsageError, demoHelp, parseDemoArgs, type DemoOptions } from './options.js';
import { progressOn, type Progress } from './progress.js';
import { renderTable, renderVerdict, type PhaseResult } from './report.js';
import { watchSidecarMetrics } from './sidecar-metrics.js';
import { startSidecars } from './sidecars.js';

const EXIT_USAGE = 2;
/** The mock's default client: the demo needs no real credentials. */
const CREDENTIALS = { clientId: 'demo-client', clientSecret: 'demo-secret' };
/** Works with a client-credentials token (/api/v2/users/me would answer 400, as Genesys does). */
const TARGET_PATH = '/api/v2/tokens/me';

export async function runDemo(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let options: DemoOptions;
  try {
    const parsed = parseDemoArgs(argv, env);
    if (parsed === 'help') {
      process.stdout.write(demoHelp());
      return 0;
    }
    options = parsed;
  } catch (err) {
    if (!(err instanceof DemoUsageError)) throw err;
    process.stderr.write(`token-sidecar demo: ${err.message}\nSee token-sidecar demo --help.\n`);
    return EXIT_USAGE;
  }

  // Ctrl-C or SIGTERM ends the running phase early; the finally block below stops everything.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const mock = buildMockUpstream({
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    revokeOnIssue: false,
    rateLimitMode: 'per-token',
    // Like Genesys today: no budget headers (docs/genesys.md §5); the sidecars count the budget.
    budgetHeaders: 'none',
    ...DEMO_RATE_LIMIT,
  });
  const progress = progressOn(process.stdout);
  let phases: [PhaseResult, PhaseResult] | undefined;
  try {
    const upstreamUrl = await mock.app.listen({ host: '127.0.0.1', port: 0 });
    printIntroduction(options, upstreamUrl);
    phases = await runPhases(options, upstreamUrl, mock, progress, interrupt.signal);
  } finally {
    progress.clear();
    await stopAllProcesses();
    await mock.app.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (!phases) {
    process.stdout.write('\nDemo interrupted; every process it started has been stopped.\n');
    return 0;
  }
  process.stdout.write(`\n${renderTable(phases)}\n\n${renderVerdict(phases[0], phases[1])}\n`);
  return 0;
}

/** The two phases in order; undefined when interrupted. */
async function runPhases(
  options: DemoOptions,
  upstreamUrl: string,
  mock: MockUpstream,
  progress: Progress,
  signal: AbortSignal,
): Promise<[PhaseResult, PhaseResult] | undefined> {
  const durationMs = options.durationSeconds * 1000;
  const load = async (phase: string, step: LoadOptions['step']) => {
    const result = await runLoad({
      clients: options.clients,
      durationMs,
      intervalMs: 1000 / options.ratePerClient,
      step,
      signal,
      onProgress: (soFar) => progress.show(phase, soFar, durationMs),
    });
    progress.clear();
    return result;
  };

  process.stdout.write('\n[1/2] without sidecar: each client fetches its own token at start and again after a 401\n');
  mock.reset();
  const naiveClients = new NaiveClients(upstreamUrl, CREDENTIALS, options.clients);
  const naiveLoad = await load('without sidecar', (index, dispatcher) => naiveClients.step(index, dispatcher, TARGET_PATH));
  const naive: PhaseResult = { title: 'without sidecar', subtitle: '(own token each)', load: naiveLoad, upstream: mock.stats() };
  if (signal.aborted) return undefined;

  // Started only now, so the first phase has the machine to itself and the sidecars' metrics count this phase alone.
  const instances = options.redisUrls.length > 0 ? 2 : 1;
  mock.reset(); // before start-up, so the sidecars' first token requests count against them
  const sidecars = await startSidecars({ instances, upstreamUrl, ...CREDENTIALS, redisUrls: options.redisUrls, poolSize: options.poolSize });
  const store = options.redisUrls.length > 0 ? 'sharing Redis' : 'memory store';
  process.stdout.write(`\n[2/2] through sidecar: ${instances} instance${instances > 1 ? 's' : ''}, ${store}\n`);
  for (const sidecar of sidecars) process.stdout.write(`      sidecar pid ${sidecar.pid} at ${sidecar.url}\n`);
  const metrics = watchSidecarMetrics(sidecars.map((sidecar) => sidecar.adminUrl));
  const throughLoad = await load('through sidecar', (index, dispatcher) =>
    getStatus(dispatcher, `${sidecars[index % sidecars.length]!.url}${TARGET_PATH}`),
  );
  const upstream = mock.stats();
  const through: PhaseResult = {
    title: 'through sidecar',
    subtitle: `(${instances} instance${instances > 1 ? 's' : ''})`,
    load: throughLoad,
    upstream,
    sidecar: await metrics.stop(),
  };
  if (signal.aborted) return undefined;
  return [naive, through];
}

function printIntroduction(options: DemoOptions, upstreamUrl: string): void {
  process.stdout.write(
    [
      'token-sidecar demo',
      `  upstream: Genesys mock at ${upstreamUrl}; tokens live ${options.tokenLifetimeSeconds} s; each token may make`,
      `            ${DEMO_RATE_LIMIT.perTokenLimit} requests per ${DEMO_RATE_LIMIT.perTokenWindowMs / 1000} s (Genesys's 300/minute per token), then 429`,
      `  load:     ${options.clients} concurrent keep-alive clients, each at most ${options.ratePerClient} request/s, GET ${TARGET_PATH},`,
      `            ${options.durationSeconds} s per side`,
      options.poolSize === 'auto'
        ? '  sidecar:  default settings: the token pool sizes itself (TOKEN_POOL_SIZE=auto), RATE_LIMIT_POLICY=pass;\n' +
          `            it counts each token's budget itself, over the mock's ${DEMO_RATE_LIMIT.perTokenWindowMs / 1000} s window (RATE_LIMIT_WINDOW_S)`
        : `  sidecar:  TOKEN_POOL_SIZE=${options.poolSize} (fixed), otherwise default settings (RATE_LIMIT_POLICY=pass)`,
      '',
    ].join('\n'),
  );
}
