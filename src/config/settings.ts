import { availableParallelism } from 'node:os';
import {
  injectHeaderName,
  injectPrefix,
  plainValue,
  resourceList,
  scopeList,
  TOKEN_AUTH_METHODS,
  tokenParams,
} from './provider-rules.js';
import { resolveRegion, type Region } from './regions.js';

/**
 * The one table of `serve` settings: flag, env name, default, meaning and how text becomes a value.
 * `loadConfig()` (load.ts) reads settings through it and `serveHelp()` (help.ts) prints it, so the two
 * cannot drift. Names and defaults are public: the README's settings table lists every one
 * (test/docs/readme.test.ts keeps the two in step), so a rename is a change to both.
 */

/** A parser's answer: the value, or the rule the text broke, phrased to follow `SETTING: `. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rule: string };

export type Section =
  | 'Credentials'
  | 'Region and upstream'
  | 'Listening'
  | 'Token lifecycle'
  | 'Token pool and rate limits'
  | 'Shared store'
  | 'Logging'
  | 'Timeouts and limits'
  | 'OAuth2 provider'
  | 'Injected header'
  | 'Login';

export interface SettingDefinition<T> {
  readonly flag: `--${string}`;
  readonly env: string;
  readonly section: Section;
  readonly meaning: string;
  /** Written as a user would type it and parsed like user input, so help shows what one could type. */
  readonly default?: string;
  /** What help shows when there is no literal default (required, optional or derived). */
  readonly defaultText?: string;
  /** The value is a secret: problems say `<hidden>` instead of echoing it. */
  readonly secret?: true;
  /** Further env names of the same setting (provider-neutral names); two of them with different values is a problem. */
  readonly envAliases?: readonly string[];
  /**
   * The text is taken as given, untrimmed, and set-but-empty is a value (`INJECT_PREFIX=`), not "unset".
   * Without it, parse receives trimmed, non-empty text and an empty value counts as not set.
   */
  readonly verbatim?: true;
  readonly parse: (text: string) => Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const broken = (rule: string): Parsed<never> => ({ ok: false, rule });

const anyText = (text: string): Parsed<string> => ok(text);

function integer(min: number, max?: number): (text: string) => Parsed<number> {
  const rule = max === undefined ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}`;
  return (text) => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    return Number.isSafeInteger(n) && n >= min && (max === undefined || n <= max) ? ok(n) : broken(rule);
  };
}

/** Case-insensitive choice among lower-case words. */
function oneOf<const V extends string>(choices: readonly V[]): (text: string) => Parsed<V> {
  return (text) => {
    const choice = choices.find((c) => c === text.toLowerCase());
    return choice !== undefined ? ok(choice) : broken(`must be one of ${choices.join(', ')}`);
  };
}

const ON = ['on', 'true', 'yes', '1'];
const OFF = ['off', 'false', 'no', '0'];
function onOff(text: string): Parsed<boolean> {
  const word = text.toLowerCase();
  if (ON.includes(word)) return ok(true);
  if (OFF.includes(word)) return ok(false);
  return broken('must be on or off (also true/false, yes/no, 1/0)');
}

/**
 * 0.1 to 0.95: below 0.1 a token is replaced almost as soon as it arrives, spending token requests;
 * above 0.95 the due time plus its jitter of up to 5% of the lifetime (refreshDueAt in token.ts)
 * reaches the expiry, leaving no time to refresh ahead of it.
 */
function refreshFraction(text: string): Parsed<number> {
  const n = /^(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : NaN;
  return n >= 0.1 && n <= 0.95 ? ok(n) : broken('must be a number from 0.1 to 0.95');
}

function workerCount(text: string): Parsed<number> {
  if (text.toLowerCase() === 'auto') return ok(availableParallelism());
  const count = integer(1)(text);
  return count.ok ? count : broken('must be a positive integer or auto');
}

/**
 * A sanity bound on pool sizes, fixed or auto: 256 tokens at Genesys's 300 requests/minute each are
 * 1,280 requests/s, beyond one load generator's needs; a larger number is more likely a typo.
 */
export const POOL_LIMIT = 256;

/** `auto`, or a fixed number of tokens. */
export type PoolSizeSetting = number | 'auto';

function poolSize(text: string): Parsed<PoolSizeSetting> {
  if (text.toLowerCase() === 'auto') return ok<PoolSizeSetting>('auto');
  const size = integer(1, POOL_LIMIT)(text);
  return size.ok ? size : broken(`must be auto or an integer from 1 to ${POOL_LIMIT}`);
}

/** What happens to a request when every token is out of budget and the pool cannot grow. */
export type RateLimitPolicy = 'pass' | 'wait' | 'reject';

function region(text: string): Parsed<Region> {
  const found = resolveRegion(text);
  return found
    ? ok(found)
    : broken('must be a Genesys region as domain (euw2.pure.cloud), AWS-style name (eu-west-2) or SDK key (eu_west_2)');
}

function httpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Credentials in these URLs would be silently dropped or sent to the wrong party: the sidecar authenticates. */
const NO_CREDENTIALS = 'must not contain user:password@ (the sidecar authenticates itself)';

/** An API base: the path is a prefix every request path is appended to, so it ends without `/`. */
function upstreamUrl(text: string): Parsed<string> {
  const url = httpUrl(text);
  if (!url) return broken('must be an absolute http(s) URL');
  if (url.username || url.password) return broken(NO_CREDENTIALS);
  if (/[?#]/.test(text)) return broken('must not have a query or fragment (a path prefix is fine)');
  return ok(`${url.origin}${url.pathname.replace(/\/+$/, '')}`);
}

function tokenEndpointUrl(text: string): Parsed<string> {
  const url = httpUrl(text);
  if (!url) return broken('must be an absolute http(s) URL');
  if (url.username || url.password) return broken(NO_CREDENTIALS);
  if (text.includes('#')) return broken('must not have a fragment');
  return ok(url.href);
}

/** A comma-separated list; empty entries are skipped, so `a,` and `` mean `a` and the memory store. */
function redisUrls(text: string): Parsed<readonly string[]> {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const bad = entries.flatMap((entry, i) => {
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    return (url?.protocol === 'redis:' || url?.protocol === 'rediss:') && url.hostname !== '' ? [] : [i + 1];
  });
  if (bad.length === 1) return broken(`entry ${bad[0]} is not a redis:// or rediss:// URL`);
  if (bad.length > 1) return broken(`entries ${bad.join(', ')} are not redis:// or rediss:// URLs`);
  return ok(entries);
}

/** `host:port` or `host` (then `defaultPort`); IPv6 in brackets: `[::1]:6379`. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

function hostPortOf(entry: string, defaultPort: number): HostPort | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/@\[\]]+)(?::(\d{1,5}))?$/.exec(entry);
  if (!match) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function hostPortList(defaultPort: number): (text: string) => Parsed<readonly HostPort[]> {
  return (text) => {
    const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
    const parsed = entries.map((entry) => hostPortOf(entry, defaultPort));
    const bad = parsed.flatMap((entry, i) => (entry === undefined ? [i + 1] : []));
    if (entries.length === 0) return broken('must name at least one host:port');
    if (bad.length > 0) return broken(`entr${bad.length === 1 ? 'y' : 'ies'} ${bad.join(', ')} not host:port`);
    return ok(parsed as HostPort[]);
  };
}

/** REDIS_CLUSTER: seed nodes as redis:// or rediss:// URLs or bare host:port (plain, port 6379). */
export interface ClusterSeeds {
  readonly seeds: readonly HostPort[];
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
}

function clusterSeeds(text: string): Parsed<ClusterSeeds> {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) return broken('must name at least one seed node');
  const seeds: HostPort[] = [];
  const schemes = new Set<string>();
  const credentials = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
      const url = URL.canParse(entry) ? new URL(entry) : undefined;
      if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
        return broken(`entry ${i + 1} is not a redis:// or rediss:// URL nor host:port`);
      }
      schemes.add(url.protocol);
      credentials.add(`${url.username}\n${url.password}`);
      seeds.push({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) });
    } else {
      const seed = hostPortOf(entry, 6379);
      if (!seed) return broken(`entry ${i + 1} is not a redis:// or rediss:// URL nor host:port`);
      schemes.add('redis:');
      credentials.add('\n');
      seeds.push(seed);
    }
  }
  if (schemes.size > 1) return broken('mixes redis:// and rediss:// seeds: a cluster is all TLS or none');
  if (credentials.size > 1) return broken('gives different user:password@ on different seeds: every node takes the same');
  const [username, password] = [...credentials][0]!.split('\n').map(decodeURIComponent);
  return ok({
    seeds,
    tls: schemes.has('rediss:'),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  });
}

/** `announced=reachable,…`, each side host:port: how this sidecar reaches the address a node announces. */
function natMap(text: string): Parsed<Readonly<Record<string, HostPort>>> {
  const map: Record<string, HostPort> = {};
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const [i, entry] of entries.entries()) {
    const [from, to, extra] = entry.split('=').map((side) => side.trim());
    const announced = from === undefined ? undefined : hostPortOf(from, 6379);
    const reachable = to === undefined ? undefined : hostPortOf(to, 6379);
    if (!announced || !reachable || extra !== undefined || !/:\d+$/.test(from!)) {
      return broken(`entry ${i + 1} is not announced-host:port=reachable-host:port`);
    }
    map[`${announced.host}:${announced.port}`] = reachable;
  }
  return entries.length > 0 ? ok(map) : broken('must map at least one announced-host:port=reachable-host:port');
}

/** Store keys are `<prefix>:{…}`; a brace in the prefix would break the Redis Cluster hash tag. */
function keyPrefix(text: string): Parsed<string> {
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(text) ? ok(text) : broken('must be 1 to 64 of A-Z a-z 0-9 _ . : -');
}

export const SETTINGS = {
  clientId: {
    flag: '--client-id', env: 'GENESYSCLOUD_OAUTHCLIENT_ID', envAliases: ['OAUTH_CLIENT_ID'], section: 'Credentials',
    defaultText: 'required without --config',
    meaning: 'OAuth client id (the names Genesys\'s own CLI and Terraform provider use)', parse: anyText,
  },
  clientSecret: {
    flag: '--client-secret', env: 'GENESYSCLOUD_OAUTHCLIENT_SECRET', envAliases: ['OAUTH_CLIENT_SECRET'], section: 'Credentials',
    defaultText: 'required without --config', meaning: 'OAuth client secret (not used by private_key_jwt)', secret: true,
    parse: anyText,
  },
  clientSecretFile: {
    flag: '--client-secret-file', env: 'GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE', envAliases: ['OAUTH_CLIENT_SECRET_FILE'],
    section: 'Credentials',
    meaning: 'file holding the client secret (Docker/Kubernetes secrets); instead of --client-secret', parse: anyText,
  },
  grant: {
    flag: '--grant', env: 'OAUTH_GRANT', section: 'Credentials', default: 'client_credentials',
    meaning: 'client_credentials, or refresh_token for user context (e.g. /api/v2/users/me)',
    parse: oneOf(['client_credentials', 'refresh_token']),
  },
  refreshToken: {
    flag: '--refresh-token', env: 'OAUTH_REFRESH_TOKEN', section: 'Credentials',
    meaning: 'seed refresh token for the refresh_token grant; rotated tokens are kept in the store',
    secret: true, parse: anyText,
  },
  refreshTokenFile: {
    flag: '--refresh-token-file', env: 'OAUTH_REFRESH_TOKEN_FILE', section: 'Credentials',
    meaning: 'file holding the seed refresh token; instead of --refresh-token', parse: anyText,
  },
  config: {
    flag: '--config', env: 'SIDECAR_CONFIG', section: 'Credentials',
    meaning: 'JSON or YAML file of named profiles; a request picks one with x-token-profile. Fields a profile ' +
      'leaves out come from --grant, --region, --upstream, --token-url and the pool and rate-limit settings; --client-id and its ' +
      'secret, when given, add the profile "default"',
    parse: anyText,
  },
  region: {
    flag: '--region', env: 'GENESYSCLOUD_REGION', section: 'Region and upstream', default: 'mypurecloud.com',
    meaning: 'Genesys region as domain (euw2.pure.cloud), AWS-style (eu-west-2) or SDK key (eu_west_2)',
    parse: region,
  },
  upstream: {
    flag: '--upstream', env: 'UPSTREAM_URL', section: 'Region and upstream', defaultText: 'https://api.<region domain>',
    meaning: 'API base every request is forwarded to (a path prefix is allowed)', parse: upstreamUrl,
  },
  tokenUrl: {
    flag: '--token-url', env: 'TOKEN_URL', section: 'Region and upstream',
    defaultText: 'https://login.<region domain>/oauth/token', meaning: 'OAuth2 token endpoint', parse: tokenEndpointUrl,
  },
  host: {
    flag: '--host', env: 'HOST', section: 'Listening', default: '127.0.0.1', meaning: 'proxy bind address',
    parse: anyText,
  },
  port: {
    flag: '--port', env: 'PORT', section: 'Listening', default: '8080', meaning: 'proxy port (0: any free port)',
    parse: integer(0, 65535),
  },
  adminHost: {
    flag: '--admin-host', env: 'ADMIN_HOST', section: 'Listening', defaultText: 'same as --host',
    meaning: 'admin/metrics bind address', parse: anyText,
  },
  adminPort: {
    flag: '--admin-port', env: 'ADMIN_PORT', section: 'Listening', default: '9464',
    meaning: 'admin/metrics port (0: any free port)', parse: integer(0, 65535),
  },
  workers: {
    flag: '--workers', env: 'WORKERS', section: 'Listening', default: '1',
    meaning: 'processes serving the proxy port; auto = one per CPU; they share tokens like instances do',
    parse: workerCount,
  },
  inboundKey: {
    flag: '--inbound-key', env: 'INBOUND_API_KEY', section: 'Listening',
    meaning: 'when set, clients must send it in x-sidecar-key (stripped before forwarding); also guards admin POSTs',
    secret: true, parse: anyText,
  },
  protectedMode: {
    flag: '--protected-mode', env: 'PROTECTED_MODE', section: 'Listening', default: 'on',
    meaning: 'on: a non-loopback --host or --admin-host without --inbound-key refuses to start',
    parse: onOff,
  },
  refreshAt: {
    flag: '--refresh-at', env: 'REFRESH_AT', section: 'Token lifecycle', default: '0.8',
    meaning: 'refresh in the background once this fraction (0.1 to 0.95) of a token\'s lifetime has passed',
    parse: refreshFraction,
  },
  // Token pool and rate limits: every one of these is also a per-profile field of the profiles file.
  poolSize: {
    flag: '--pool-size', env: 'TOKEN_POOL_SIZE', section: 'Token pool and rate limits', default: 'auto',
    meaning: `auto: the pool starts at one token and grows fleet-wide before a token runs out of its rate budget, ` +
      `up to --pool-max, and shrinks when idle; a number (1 to ${POOL_LIMIT}) fixes it. Genesys caps each ` +
      'client-credentials token at 300 requests/minute. The refresh_token grant always uses one token',
    parse: poolSize,
  },
  poolMax: {
    flag: '--pool-max', env: 'TOKEN_POOL_MAX', section: 'Token pool and rate limits', default: '64',
    meaning: `ceiling of an auto pool (1 to ${POOL_LIMIT})`, parse: integer(1, POOL_LIMIT),
  },
  rateLimitPerToken: {
    flag: '--rate-limit-per-token', env: 'RATE_LIMIT_PER_TOKEN', section: 'Token pool and rate limits',
    defaultText: 'unset: unlimited',
    meaning: 'requests/minute per token, counted locally, for upstreams that send no rate-limit headers ' +
      '(Genesys sends inin-ratelimit-*, which win)',
    parse: integer(1),
  },
  rateLimitPolicy: {
    flag: '--rate-limit-policy', env: 'RATE_LIMIT_POLICY', section: 'Token pool and rate limits', default: 'pass',
    meaning: 'when every token is out of budget and the pool cannot grow: pass (send it; the upstream\'s 429 ' +
      'reaches the client), wait (hold it until a token has budget, at most --rate-limit-max-wait-ms, then pass) ' +
      'or reject (answer 429 at once without calling the upstream)',
    parse: oneOf<RateLimitPolicy>(['pass', 'wait', 'reject']),
  },
  rateLimitMaxWaitMs: {
    flag: '--rate-limit-max-wait-ms', env: 'RATE_LIMIT_MAX_WAIT_MS', section: 'Token pool and rate limits',
    default: '5000', meaning: 'longest a request is held under --rate-limit-policy wait', parse: integer(0),
  },
  redis: {
    flag: '--redis', env: 'REDIS_URL', section: 'Shared store', defaultText: 'unset: in-memory store',
    meaning: 'redis:// or rediss:// URL of one primary, or a comma-separated list of independent nodes (Redlock quorum)',
    parse: redisUrls,
  },
  redisSentinels: {
    flag: '--redis-sentinels', env: 'REDIS_SENTINELS', section: 'Shared store',
    meaning: 'Sentinel instead of --redis: the sentinels as host:port,… (port 26379 when left out); needs --redis-sentinel-name',
    parse: hostPortList(26379),
  },
  redisSentinelName: {
    flag: '--redis-sentinel-name', env: 'REDIS_SENTINEL_NAME', section: 'Shared store',
    meaning: 'the primary\'s name as the sentinels know it (sentinel monitor <name> …)', parse: plainValue,
  },
  redisSentinelPassword: {
    flag: '--redis-sentinel-password', env: 'REDIS_SENTINEL_PASSWORD', section: 'Shared store',
    meaning: 'password of the sentinels themselves (requirepass on the sentinels), when they have one', secret: true, parse: anyText,
  },
  redisSentinelTls: {
    flag: '--redis-sentinel-tls', env: 'REDIS_SENTINEL_TLS', section: 'Shared store', defaultText: 'same as --redis-tls',
    meaning: 'TLS to the sentinels (same CA and client certificate as the data nodes)', parse: onOff,
  },
  redisCluster: {
    flag: '--redis-cluster', env: 'REDIS_CLUSTER', section: 'Shared store',
    meaning: 'Redis Cluster instead of --redis: seed nodes as redis:// or rediss:// URLs (user:password@ allowed, the same on each) ' +
      'or host:port. Needs Redis 7 (sharded pub/sub)',
    parse: clusterSeeds,
  },
  redisClusterNatMap: {
    flag: '--redis-cluster-nat-map', env: 'REDIS_CLUSTER_NAT_MAP', section: 'Shared store',
    meaning: 'announced-host:port=reachable-host:port,…: where to reach a cluster node that announces an address this ' +
      'sidecar cannot use (NAT, port forwarding); with TLS, --redis-tls-servername names the certificate',
    parse: natMap,
  },
  redisUsername: {
    flag: '--redis-username', env: 'REDIS_USERNAME', section: 'Shared store', defaultText: 'the URL\'s user, else default',
    meaning: 'ACL user (see the README for the smallest rule the sidecar needs)', parse: plainValue,
  },
  redisPasswordFile: {
    flag: '--redis-password-file', env: 'REDIS_PASSWORD_FILE', section: 'Shared store',
    meaning: 'file holding the Redis password (instead of :password@ in the URL); re-read when replaced, for the next connection',
    parse: anyText,
  },
  redisTls: {
    flag: '--redis-tls', env: 'REDIS_TLS', section: 'Shared store', defaultText: 'on with rediss://, else off',
    meaning: 'TLS to the data nodes; needed to say so with --redis-sentinels, which take no URL', parse: onOff,
  },
  redisTlsCaFile: {
    flag: '--redis-tls-ca-file', env: 'REDIS_TLS_CA_FILE', section: 'Shared store', defaultText: 'Node\'s default CAs',
    meaning: 'PEM CA bundle the Redis server certificates must chain to (a managed service\'s own CA)', parse: anyText,
  },
  redisTlsCertFile: {
    flag: '--redis-tls-cert-file', env: 'REDIS_TLS_CERT_FILE', section: 'Shared store',
    meaning: 'client certificate (PEM) for mutual TLS; with --redis-tls-key-file', parse: anyText,
  },
  redisTlsKeyFile: {
    flag: '--redis-tls-key-file', env: 'REDIS_TLS_KEY_FILE', section: 'Shared store',
    meaning: 'its private key (PEM, unencrypted); TLS files are re-read when replaced, for the next connection', parse: anyText,
  },
  redisTlsServername: {
    flag: '--redis-tls-servername', env: 'REDIS_TLS_SERVERNAME', section: 'Shared store', defaultText: 'the host connected to',
    meaning: 'name the server certificate must carry (and SNI), when nodes are reached by an address their certificate does not name',
    parse: plainValue,
  },
  redisKeyPrefix: {
    flag: '--redis-key-prefix', env: 'REDIS_KEY_PREFIX', section: 'Shared store', default: 'token-sidecar',
    meaning: 'prefix of every store key, and of the events channels (the ACL rule\'s ~prefix:* and &prefix:*)', parse: keyPrefix,
  },
  logLevel: {
    flag: '--log-level', env: 'LOG_LEVEL', section: 'Logging', default: 'info', meaning: 'pino level: fatal, error, warn, info, debug, trace or silent',
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  },
  logFormat: {
    flag: '--log-format', env: 'LOG_FORMAT', section: 'Logging', default: 'json',
    meaning: 'json (one object a line) or pretty (for a terminal)', parse: oneOf(['json', 'pretty']),
  },
  upstreamTimeoutMs: {
    flag: '--upstream-timeout-ms', env: 'UPSTREAM_TIMEOUT_MS', section: 'Timeouts and limits', default: '30000',
    meaning: 'how long the upstream may take to send headers, and between body chunks', parse: integer(1),
  },
  upstreamConnections: {
    flag: '--upstream-connections', env: 'UPSTREAM_CONNECTIONS', section: 'Timeouts and limits', default: '256',
    meaning: 'most keep-alive connections to the upstream', parse: integer(1),
  },
  tokenTimeoutMs: {
    flag: '--token-timeout-ms', env: 'TOKEN_TIMEOUT_MS', section: 'Timeouts and limits', default: '10000',
    meaning: 'time budget of one token fetch, retries with backoff included (the refresh lock lives longer by the lock grace)', parse: integer(1),
  },
  lockGraceMs: {
    flag: '--lock-grace-ms', env: 'LOCK_GRACE_MS', section: 'Timeouts and limits', default: '5000',
    meaning: 'how much longer than --token-timeout-ms the refresh lock lives: a holder that stalls or dies blocks the other instances this long past its fetch budget',
    parse: integer(1),
  },
  replayBodyLimit: {
    flag: '--replay-body-limit', env: 'REPLAY_BODY_LIMIT', section: 'Timeouts and limits', default: '512000',
    meaning: 'bytes of request body buffered so a 401 can be replayed (Genesys request.bytes.max); larger bodies stream',
    parse: integer(0),
  },
  shutdownTimeoutMs: {
    flag: '--shutdown-timeout-ms', env: 'SHUTDOWN_TIMEOUT_MS', section: 'Timeouts and limits', default: '8000',
    meaning: 'how long SIGTERM/SIGINT waits for in-flight requests before closing them; keep it below the platform\'s ' +
      'grace before SIGKILL (docker stop: 10 s, Kubernetes: terminationGracePeriodSeconds)',
    parse: integer(0),
  },

  // OAuth2 providers other than Genesys Cloud: client authentication, token request parameters and
  // where the token goes upstream. Each is also a profile field (profiles.ts).
  tokenAuth: {
    flag: '--token-auth', env: 'OAUTH_TOKEN_AUTH', section: 'OAuth2 provider', default: 'client_secret_basic',
    meaning: 'client authentication at the token endpoint: client_secret_basic (HTTP Basic, Genesys), client_secret_post ' +
      '(id and secret in the form) or private_key_jwt (a signed assertion per request, RFC 7523; needs --private-key-file)',
    parse: oneOf(TOKEN_AUTH_METHODS),
  },
  privateKeyFile: {
    flag: '--private-key-file', env: 'OAUTH_PRIVATE_KEY_FILE', section: 'OAuth2 provider',
    meaning: 'private key for private_key_jwt, PEM (PKCS#8, PKCS#1 or SEC1, unencrypted) or JWK. The key sets the ' +
      'algorithm: RSA RS256 (PS256 when a JWK says "alg": "PS256"), EC P-256 ES256',
    parse: anyText,
  },
  keyId: {
    flag: '--key-id', env: 'OAUTH_KEY_ID', section: 'OAuth2 provider', defaultText: 'the JWK\'s kid, else none',
    meaning: 'kid header of the private_key_jwt assertion (the key\'s id as registered at the provider)', parse: plainValue,
  },
  certFile: {
    flag: '--cert-file', env: 'OAUTH_CERT_FILE', section: 'OAuth2 provider',
    meaning: 'the private key\'s X.509 certificate (PEM), for providers that find the key by its thumbprint ' +
      '(Entra ID): the assertion then carries x5t#S256 and x5t',
    parse: anyText,
  },
  scope: {
    flag: '--scope', env: 'OAUTH_SCOPE', section: 'OAuth2 provider',
    meaning: 'scope sent with every token request (space-separated)', parse: scopeList,
  },
  audience: {
    flag: '--audience', env: 'OAUTH_AUDIENCE', section: 'OAuth2 provider',
    meaning: 'audience sent with every token request (Auth0 and others)', parse: plainValue,
  },
  resource: {
    flag: '--resource', env: 'OAUTH_RESOURCE', section: 'OAuth2 provider',
    meaning: 'resource indicators (RFC 8707) sent with every token request: a comma-separated list of absolute URIs',
    parse: resourceList,
  },
  tokenParams: {
    flag: '--token-param', env: 'OAUTH_TOKEN_PARAMS', section: 'OAuth2 provider',
    meaning: 'extra token request fields as a=1&b=2; the grant, client authentication, scope, audience and ' +
      'resource fields have their own settings and are refused here',
    parse: tokenParams,
  },
  tokenDefaultLifetime: {
    flag: '--token-default-lifetime-s', env: 'TOKEN_DEFAULT_LIFETIME_S', section: 'OAuth2 provider', default: '300',
    meaning: 'lifetime assumed for a token whose answer has no expires_in (GET /token then shows lifetimeAssumed); ' +
      'an upstream 401 still replaces a token that ends sooner',
    parse: integer(1, 86_400),
  },
  injectHeader: {
    flag: '--inject-header', env: 'INJECT_HEADER', section: 'Injected header', default: 'authorization',
    meaning: 'header the token is sent in upstream; a copy the client sends is dropped', parse: injectHeaderName,
  },
  injectPrefix: {
    flag: '--inject-prefix', env: 'INJECT_PREFIX', section: 'Injected header', default: 'Bearer ', verbatim: true,
    meaning: 'text before the token in that header, taken verbatim; set but empty (INJECT_PREFIX= or --inject-prefix=) ' +
      'sends the bare token, e.g. for an x-api-key header',
    parse: injectPrefix,
  },

  // ---- token-sidecar login (the authorization-code grant with PKCE) ----
  authorizeUrl: {
    flag: '--authorize-url', env: 'OAUTH_AUTHORIZE_URL', section: 'Login',
    defaultText: 'https://login.<region>/oauth/authorize',
    meaning: 'OAuth2 authorization endpoint for login; unset, it sits beside the token URL (its /oauth/token becomes /oauth/authorize)',
    parse: tokenEndpointUrl,
  },
  loginPort: {
    flag: '--login-port', env: 'LOGIN_PORT', section: 'Login', default: '8085',
    meaning: 'port of login\'s loopback callback http://127.0.0.1:<port>/callback: register that URL as the OAuth client\'s redirect URI',
    parse: integer(1, 65535),
  },
} as const satisfies Record<string, SettingDefinition<unknown>>;

export type SettingName = keyof typeof SETTINGS;

/** The parsed value type of a setting. */
export type SettingValue<N extends SettingName> =
  ReturnType<(typeof SETTINGS)[N]['parse']> extends Parsed<infer T> ? T : never;

/** Settings with a literal default: reading one always yields a value. */
export type DefaultedSetting = {
  [N in SettingName]: (typeof SETTINGS)[N] extends { readonly default: string } ? N : never;
}[SettingName];

/** How problems name a setting: `PORT (--port)`. */
export function settingLabel(name: SettingName): string {
  return `${SETTINGS[name].env} (${SETTINGS[name].flag})`;
}

/** A rejected value as a problem may show it: never a secret, and never a password inside a URL. */
export function shownValue(text: string, secret: boolean | undefined): string {
  return secret ? '<hidden>' : JSON.stringify(text.replace(/\/\/([^/@:]*):[^/@]*@/g, '//$1:<hidden>@'));
}
