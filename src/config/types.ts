/**
 * The validated, frozen configuration. Produced once by `loadConfig()` (src/config/load.ts) from
 * flags, env and an optional profiles file; nothing else reads process.env.
 */
export type Grant = 'client_credentials' | 'refresh_token';

export interface ProfileConfig {
  /** `default` for the profile built from the flat settings; names from the --config file otherwise. */
  readonly name: string;
  readonly grant: Grant;
  readonly clientId: string;
  /** Secret: never log or expose. Empty only for `login` with a public (PKCE, no secret) client. */
  readonly clientSecret: string;
  /** Seed refresh token for the refresh_token grant. Secret: never log or expose. */
  readonly refreshToken?: string;
  /** OAuth2 token endpoint, e.g. https://login.mypurecloud.com/oauth/token */
  readonly tokenUrl: string;
  /** API base every request of this profile is forwarded to, e.g. https://api.mypurecloud.com */
  readonly upstreamUrl: string;
  /** Tokens kept in rotation for this profile (>= 1). */
  readonly poolSize: number;
}

export interface Config {
  /** At least one. `defaultProfile` names the one used when a request sends no x-token-profile. */
  readonly profiles: readonly ProfileConfig[];
  readonly defaultProfile: string;
  /** Empty: in-memory store (one instance). One URL: one Redis. Several: independent Redlock nodes. */
  readonly redisUrls: readonly string[];
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
  /** Timeout of one token endpoint call (kept shorter than the refresh lock's TTL). */
  readonly tokenTimeoutMs: number;
  /** Request bodies up to this size are buffered so a 401 can be replayed; larger ones stream. */
  readonly replayBodyLimitBytes: number;
  /** How long SIGTERM/SIGINT waits for in-flight requests before closing them. */
  readonly shutdownTimeoutMs: number;
  /** `token-sidecar login`: the loopback callback port and the authorization endpoint, when set. */
  readonly login: { readonly port: number; readonly authorizeUrl?: string };
}
