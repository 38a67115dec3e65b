/**
 * The demo's settings and their parser. Few on purpose: the demo is one command that needs no
 * credentials; everything else (mock knobs, sidecar settings) is fixed by the story it tells.
 */

export interface DemoOptions {
  /** Length of each of the two load phases. */
  readonly durationSeconds: number;
  /** Concurrent keep-alive clients in each phase. */
  readonly clients: number;
  /** Requests per second each client starts at most, like a JMeter thread with a constant timer. */
  readonly ratePerClient: number;
  /**
   * `expires_in` of the mock's tokens: short enough that a client holding its own token sees it
   * expire within a phase, and longer than the rate window, so a token lives through a full window.
   */
  readonly tokenLifetimeSeconds: number;
  /** Redis nodes the sidecars share; when set, two sidecar instances run instead of one. */
  readonly redisUrls: readonly string[];
  /** The sidecars' TOKEN_POOL_SIZE: `auto` (their default) or a fixed number of tokens. */
  readonly poolSize: 'auto' | number;
}

/**
 * Each phase lasts 20 s, so the whole demo (two phases plus start-up) stays under a minute. 200
 * clients at one request per second offer 200 requests/s: 40 times what one token may make under
 * Genesys's 300/minute per-token limit.
 */
export const demoDefaults: DemoOptions = Object.freeze({
  durationSeconds: 20,
  clients: 200,
  ratePerClient: 1,
  tokenLifetimeSeconds: 15,
  redisUrls: [],
  poolSize: 'auto',
});

/**
 * The mock's per-token rate limit: Genesys's 300 requests per minute per client-credentials token
 * (docs/genesys.md §5) on a 10 s window with the same ratio, so each 20 s phase spans two full
 * windows and shows the pool in steady state, not only its first minute.
 */
export const DEMO_RATE_LIMIT = Object.freeze({ perTokenLimit: 50, perTokenWindowMs: 10_000 });

/** Bad demo arguments; `problems` holds one line per problem, each naming the flag. */
export class DemoUsageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid demo arguments:\n  ${problems.join('\n  ')}`);
    this.name = 'DemoUsageError';
  }
}

export function demoHelp(): string {
  return [
    'Usage: token-sidecar demo [options]',
    '',
    "Starts the Genesys mock (short tokens, Genesys's 300 requests/minute per-token limit on a 10 s",
    'window) and runs the same load twice: first each client managing its own token (fetch at start,',
    'refetch on 401), then through the sidecar with its default auto-sizing token pool. Prints both',
    'side by side. Needs no credentials and contacts nothing outside 127.0.0.1 (and --redis).',
    '',
    `  --duration <seconds>        length of each phase (default: ${demoDefaults.durationSeconds})`,
    `  --clients <n>               concurrent keep-alive clients (default: ${demoDefaults.clients})`,
    `  --rate <per second>         requests each client starts per second at most (default: ${demoDefaults.ratePerClient})`,
    `  --token-lifetime <seconds>  lifetime of the mock's tokens (default: ${demoDefaults.tokenLifetimeSeconds})`,
    '  --redis <url[,url...]>      run two sidecar instances sharing this Redis; env REDIS_URL (default: one',
    '                              instance, memory store)',
    "  --pool-size <auto|n>        the sidecars' TOKEN_POOL_SIZE; 1 shows what one shared token gets",
    `                              (default: ${demoDefaults.poolSize})`,
    '  --help                      this text',
    '',
  ].join('\n');
}

/** Returns the options, or `'help'` when help was asked for. Throws DemoUsageError listing every problem. */
export function parseDemoArgs(argv: readonly string[], env: NodeJS.ProcessEnv): DemoOptions | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const problems: string[] = [];
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(argv[i]!);
    const name = match?.[1];
    if (!name || !['duration', 'clients', 'rate', 'token-lifetime', 'redis', 'pool-size'].includes(name)) {
      problems.push(`${argv[i]}: unknown ${argv[i]!.startsWith('-') ? 'option' : 'argument'} (see token-sidecar demo --help)`);
    } else if (match[2] !== undefined) {
      raw.set(name, match[2]);
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      raw.set(name, argv[++i]!);
    } else {
      problems.push(`--${name}: needs a value`);
    }
  }

  const number = (flag: string, fallback: number, integer: boolean): number => {
    const text = raw.get(flag);
    if (text === undefined) return fallback;
    const value = text.trim() === '' ? NaN : Number(text);
    if (Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value))) return value;
    problems.push(`--${flag}: must be a positive ${integer ? 'whole number' : 'number'}, got ${JSON.stringify(text)}`);
    return fallback;
  };

  const poolSize = (text: string | undefined): DemoOptions['poolSize'] => {
    if (text === undefined) return demoDefaults.poolSize;
    if (text.trim().toLowerCase() === 'auto') return 'auto';
    const value = Number(text);
    if (text.trim() !== '' && Number.isInteger(value) && value > 0) return value;
    problems.push(`--pool-size: must be auto or a positive whole number, got ${JSON.stringify(text)}`);
    return demoDefaults.poolSize;
  };

  const options: DemoOptions = {
    durationSeconds: number('duration', demoDefaults.durationSeconds, false),
    clients: number('clients', demoDefaults.clients, true),
    ratePerClient: number('rate', demoDefaults.ratePerClient, false),
    tokenLifetimeSeconds: number('token-lifetime', demoDefaults.tokenLifetimeSeconds, false),
    poolSize: poolSize(raw.get('pool-size')),
    redisUrls: (raw.get('redis') ?? env.REDIS_URL ?? '').split(',').map((url) => url.trim()).filter((url) => url !== ''),
  };
  for (const url of options.redisUrls) {
    if (!/^rediss?:\/\/[^/]/.test(url)) problems.push(`--redis: ${url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:<hidden>@')} is not a redis:// or rediss:// URL`);
  }
  if (problems.length > 0) throw new DemoUsageError(problems);
  return options;
}
