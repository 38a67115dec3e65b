import { TOKEN_AUTH_METHODS } from '../token/client-auth.js';
import { GRANT_NAMES, type GrantName } from '../token/grants/index.js';
import {
  anyText,
  clusterSeeds,
  hostPortList,
  integer,
  natMap,
  keyPrefix,
  onOff,
  oneOf,
  POOL_LIMIT,
  poolSize,
  redisUrls,
  refreshFraction,
  region,
  tokenEndpointUrl,
  upstreamUrl,
  workerCount,
  type Parsed,
  type RateLimitPolicy,
} from './parsers.js';
export type { ClusterSeeds, HostPort } from './parsers.js';
import {
  injectHeaderName,
  injectPrefix,
  plainValue,
  resourceList,
  scopeList,
  tokenParams,
} from './provider-rules.js';
import { parseTestWindow, type TestWindow } from './test-window.js';

/**
 * The one table of `serve` settings: flag, env name, default, meaning and how text becomes a value.
 * `loadConfig()` reads settings through it (read-settings.ts) and `serveHelp()` (help.ts) prints it,
 * so the two cannot drift. Names and defaults are public: the README's settings table lists every one
 * (test/docs/readme.test.ts keeps the two in step), so a rename is a change to both.
 */

// The parsers' types, for code that imports them beside the table (pool/pool.ts).
export type { Parsed, PoolSizeSetting, RateLimitPolicy } from './parsers.js';

/** Which API a profile talks to, as far as its rate limits go. */
export type ProviderSetting = 'auto' | 'genesys' | 'oauth2';

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
  | 'Login'
  | 'Load-test run';

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
  /**
   * The setting belongs to this grant (token/grants/index.ts): a profile carries its value in
   * `grantOptions`, a profiles-file profile may give it as a field named like the setting, and a
   * profile of another grant that gives it is a problem.
   */
  readonly forGrant?: GrantName;
  readonly parse: (text: string) => Parsed<T>;
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
    meaning: 'client_credentials; refresh_token for user context (e.g. /api/v2/users/me); or jwt_bearer (RFC 7523 §2.1: ' +
      'a JWT signed with --private-key-file is the grant, see --jwt-subject)',
    parse: oneOf(GRANT_NAMES),
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
    defaultText: 'Genesys: 300 or org value',
    meaning: 'requests/minute per token, counted by the sidecars themselves across the fleet (Genesys sends no budget headers ' +
      'since 2021); budget headers win where an upstream sends them (IETF RateLimit/RateLimit-Policy, x-ratelimit-*, inin-ratelimit-*)',
    parse: integer(1),
  },
  rateLimitWindowS: {
    flag: '--rate-limit-window-s', env: 'RATE_LIMIT_WINDOW_S', section: 'Token pool and rate limits', default: '60',
    meaning: 'the window the per-token limit is counted over, in seconds (Genesys: a minute); counted as a sliding window ' +
      'a little longer than this, so a limit counted over a fixed or a sliding window is never overrun',
    parse: integer(1, 120),
  },
  provider: {
    flag: '--provider', env: 'OAUTH_PROVIDER', section: 'Token pool and rate limits', default: 'auto',
    meaning: 'genesys (the per-token limit is read from the Limits API, else 300/minute), oauth2 (any other API: ' +
      'the limit is RATE_LIMIT_PER_TOKEN or learnt from 429s), or auto: genesys when the token URL is a Genesys region\'s login host',
    parse: oneOf<ProviderSetting>(['auto', 'genesys', 'oauth2']),
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
  // where the token goes upstream. Each is also a profile field (profiles-file.ts).
  tokenAuth: {
    flag: '--token-auth', env: 'OAUTH_TOKEN_AUTH', section: 'OAuth2 provider', default: 'client_secret_basic',
    meaning: 'client authentication at the token endpoint: client_secret_basic (HTTP Basic, Genesys), client_secret_post ' +
      '(id and secret in the form) or private_key_jwt (a signed assertion per request, RFC 7523; needs --private-key-file)',
    parse: oneOf(TOKEN_AUTH_METHODS),
  },
  privateKeyFile: {
    flag: '--private-key-file', env: 'OAUTH_PRIVATE_KEY_FILE', section: 'OAuth2 provider',
    meaning: 'private key for private_key_jwt and the jwt_bearer grant, PEM (PKCS#8, PKCS#1 or SEC1, unencrypted) or JWK. The key sets the ' +
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
  jwtSubject: {
    flag: '--jwt-subject', env: 'OAUTH_JWT_SUBJECT', section: 'OAuth2 provider', defaultText: 'the client id', forGrant: 'jwt_bearer',
    meaning: 'sub of the jwt_bearer grant\'s assertion: whom the token is for (a user or service account, as the provider names it)',
    parse: plainValue,
  },
  jwtAudience: {
    flag: '--jwt-audience', env: 'OAUTH_JWT_AUDIENCE', section: 'OAuth2 provider', defaultText: 'the token URL', forGrant: 'jwt_bearer',
    meaning: 'aud of the jwt_bearer grant\'s assertion, for a provider that expects another value than the token URL (its issuer, say)',
    parse: plainValue,
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

  // ---- what a load test sees and the brakes on it ----
  serverTiming: {
    flag: '--server-timing', env: 'SERVER_TIMING', section: 'Load-test run', default: 'on',
    meaning: 'on: every proxied answer carries Server-Timing: sidecar;dur, token;dur, budget;dur, upstream;dur (ms) and ' +
      'replay;desc="401"/"429" when it was replayed; an upstream\'s own Server-Timing is kept',
    parse: onOff,
  },
  maxRequests: {
    flag: '--max-requests', env: 'MAX_REQUESTS', section: 'Load-test run', defaultText: 'unset: no cap',
    meaning: 'at most this many requests reach the upstream in the run (replays included), fleet-wide through the store; ' +
      'past it the sidecar answers 429 sidecar_request_cap without calling the upstream',
    parse: integer(1),
  },
  testWindow: {
    flag: '--test-window', env: 'TEST_WINDOW', section: 'Load-test run', defaultText: 'unset: always',
    meaning: 'daily window, e.g. "23:00-05:00 America/Chicago" (may cross midnight); outside it every request is ' +
      'refused with 403 sidecar_outside_test_window',
    parse: parseTestWindow as (text: string) => Parsed<TestWindow>,
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

/** The settings that belong to a grant (`forGrant`). */
export type GrantOptionName = {
  [N in SettingName]: (typeof SETTINGS)[N] extends { readonly forGrant: GrantName } ? N : never;
}[SettingName];

/** A profile's values of the settings that belong to a grant, by setting name. */
export type GrantOptions = { readonly [N in GrantOptionName]?: SettingValue<N> };

export const GRANT_OPTION_NAMES = (Object.keys(SETTINGS) as SettingName[]).filter(
  (name) => (SETTINGS[name] as SettingDefinition<unknown>).forGrant !== undefined,
) as GrantOptionName[];

/** How problems name a setting: `PORT (--port)`. */
export function settingLabel(name: SettingName): string {
  return `${SETTINGS[name].env} (${SETTINGS[name].flag})`;
}

/** A rejected value as a problem may show it: never a secret, and never a password inside a URL. */
export function shownValue(text: string, secret: boolean | undefined): string {
  return secret ? '<hidden>' : JSON.stringify(text.replace(/\/\/([^/@:]*):[^/@]*@/g, '//$1:<hidden>@'));
}
