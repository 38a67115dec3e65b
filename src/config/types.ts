/**
 * The validated, frozen configuration. Produced once by `loadConfig()` (src/config/load.ts) from
 * flags, env and an optional profiles file; the sidecar takes its settings from nowhere else.
 */
import type { GrantOptions, RateLimitPolicy } from './settings.js';
import type { TestWindow } from './test-window.js';

export type { GrantName as Grant } from '../token/grants/index.js';
import type { GrantName as Grant } from '../token/grants/index.js';
export type { SigningKey, TokenAuthMethod } from '../token/client-auth.js';
import type { SigningKey, TokenAuthMethod } from '../token/client-auth.js';
export type { RateLimitPolicy };

export interface ProfileConfig {
  /** `default` for the profile built from the flat settings; names from the --config file otherwise. */
  readonly name: string;
  readonly grant: Grant;
  readonly clientId: string;
  /**
   * Secret: never log or expose. Absent with private_key_jwt, which authenticates with `privateKey`;
   * empty only for `login` with a public (PKCE, no secret) client, which sends `client_id` in the form.
   */
  readonly clientSecret?: string;
  /** Seed refresh token for the refresh_token grant. Secret: never log or expose. */
  readonly refreshToken?: string;
  /** The values of the settings that belong to the grant (settings.ts `forGrant`). */
  readonly grantOptions: GrantOptions;
  /** OAuth2 token endpoint, e.g. https://login.mypurecloud.com/oauth/token */
  readonly tokenUrl: string;
  /** API base every request of this profile is forwarded to, e.g. https://api.mypurecloud.com */
  readonly upstreamUrl: string;
  /**
   * Tokens kept in rotation for this profile (>= 1): the fixed size, or with `poolAuto` the size an
   * auto pool starts at (1).
   */
  readonly poolSize: number;

  // How the token endpoint is asked (OAuth2 providers other than Genesys) and where the token goes.
  readonly tokenAuth: TokenAuthMethod;
  /** Only with private_key_jwt. Secret. */
  readonly privateKey?: SigningKey;
  /** Space-separated, sent as `scope`. */
  readonly scope?: string;
  readonly audience?: string;
  /** Sent as repeated `resource` fields (RFC 8707). */
  readonly resources?: readonly string[];
  /** Further form fields, in order; never one the sidecar sets itself. */
  readonly tokenParams?: ReadonlyArray<readonly [string, string]>;
  /** Lifetime assumed when the token endpoint's answer has no expires_in. */
  readonly defaultLifetimeS: number;
  /** Lower-case header name the token is sent in upstream. */
  readonly injectHeader: string;
  /** Put before the token in that header, verbatim (`Bearer `, or empty for a bare key). */
  readonly injectPrefix: string;
  /**
   * TOKEN_POOL_SIZE=auto: the pool grows fleet-wide (up to `poolMax`) before a token runs out of its
   * rate budget, and shrinks when idle. Always false with the refresh_token grant (one rotation chain).
   */
  readonly poolAuto: boolean;
  /** Ceiling of an auto pool; unused by a fixed one. */
  readonly poolMax: number;
  /**
   * RATE_LIMIT_PER_TOKEN: requests/minute per token, counted locally, when the upstream sends no
   * rate-limit headers. Undefined: unlimited unless the headers say otherwise.
   */
  readonly rateLimitPerToken?: number;
  /** RATE_LIMIT_WINDOW_S in ms: the window the per-token limit is counted over. */
  readonly rateLimitWindowMs: number;
  /**
   * Which API the profile talks to, as far as rate limits go: `genesys` reads the per-token limit
   * from the Limits API at start (else 300/minute, docs/genesys.md §5, §10); `oauth2` learns it.
   */
  readonly provider: 'genesys' | 'oauth2';
  /** What a request meets when every token is out of budget and the pool cannot grow. */
  readonly rateLimitPolicy: RateLimitPolicy;
  /** Longest a request is held under the `wait` policy. */
  readonly rateLimitMaxWaitMs: number;
  /**
   * A group profile (README "Many users"): the names of its members, other profiles of the same
   * profiles file, each a refresh_token profile (one user) of the same client, token URL and
   * upstream. Its pool is one slot per member, in this order, each on its member's own token
   * lifecycle (store key, refresh-token family, seed file), routed by each user's budget. A group has
   * no credentials of its own (no secret, refresh token or key here): its client, URLs, grant and
   * injection are its members' common ones, its rate-limit settings its own. Absent: not a group.
   */
  readonly members?: readonly string[];
}

/**
 * How to reach Redis, one of three modes (the README's Redis section says what each promises): the
 * connection description of src/redis/connections.ts itself, which the composer hands to the store
 * and the lock. Files (password, TLS) are SecretFiles: read at each new connection.
 */
export type { Current as CurrentValue, RedisConnection as RedisSettings } from '../redis/connections.js';
import type { RedisConnection as RedisSettings } from '../redis/connections.js';

export interface Config {
  /** At least one. `defaultProfile` names the one used when a request sends no x-token-profile. */
  readonly profiles: readonly ProfileConfig[];
  readonly defaultProfile: string;
  /** REDIS_URL as given. Empty: no nodes mode (see `redis`). One URL: one Redis. Several: independent Redlock nodes. */
  readonly redisUrls: readonly string[];
  /** Unset: the in-memory store (one instance, or its workers). */
  readonly redis?: RedisSettings;
  readonly redisKeyPrefix: string;
  readonly host: string;
  readonly port: number;
  readonly adminHost: string;
  readonly adminPort: number;
  /** Fraction of a token's lifetime after which a background refresh starts (0 < x < 1). */
  readonly refreshAt: number;
  /** Processes serving the proxy port ('auto' already resolved to the CPU count). */
  readonly workers: number;
  readonly inboundApiKey?: string;
  readonly protectedMode: boolean;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly logFormat: 'json' | 'pretty';
  /** Upstream headers/body timeout per request. */
  readonly upstreamTimeoutMs: number;
  /** Max keep-alive connections to the upstream origin. */
  readonly upstreamConnections: number;
  /**
   * Whole time budget of one token fetch: every call to the token endpoint and the backoff waits
   * between retries fit in it. Each call gets what is left of it, and the fetch gives up rather than
   * wait past it. The refresh lock outlives it, so a holder still fetching is never overtaken.
   */
  readonly tokenTimeoutMs: number;
  /**
   * How much longer than `tokenTimeoutMs` the refresh lock lives: room for the holder's store write
   * after its fetch, and how long past its budget a holder that stalled or died keeps the others waiting.
   */
  readonly lockGraceMs: number;
  /** Request bodies up to this size are buffered so a 401 can be replayed; larger ones stream. */
  readonly replayBodyLimitBytes: number;
  /** How long SIGTERM/SIGINT waits for in-flight requests before closing them. */
  readonly shutdownTimeoutMs: number;
  /** SERVER_TIMING: whether proxied answers carry the Server-Timing header. */
  readonly serverTiming: boolean;
  /** MAX_REQUESTS: the most requests that reach the upstream in the run, fleet-wide; undefined: no cap. */
  readonly maxRequests?: number;
  /** TEST_WINDOW: outside it every request is refused; undefined: always open. */
  readonly testWindow?: TestWindow;
  /** `token-sidecar login`: the loopback callback port and the authorization endpoint, when set. */
  readonly login: { readonly port: number; readonly authorizeUrl?: string };
}
