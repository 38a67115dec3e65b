/**
 * The names the deployment files may use, copied by hand from the README's settings and metrics
 * tables on purpose: a rename in the app must be a visible, deliberate change here too.
 * contract.test.ts checks that the app still reads every one of these settings and that the README
 * still names them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The README's settings, with the `_FILE` variants it names and ADMIN_HOST / LOG_FORMAT. */
export const CONTRACT_ENV: ReadonlySet<string> = new Set([
  'GENESYSCLOUD_REGION',
  'UPSTREAM_URL',
  'TOKEN_URL',
  'GENESYSCLOUD_OAUTHCLIENT_ID',
  'GENESYSCLOUD_OAUTHCLIENT_SECRET',
  'GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE',
  'OAUTH_GRANT',
  'OAUTH_REFRESH_TOKEN',
  'OAUTH_REFRESH_TOKEN_FILE',
  'REDIS_URL',
  'REDIS_PASSWORD_FILE',
  'HOST',
  'PORT',
  'ADMIN_HOST',
  'ADMIN_PORT',
  'REFRESH_AT',
  'TOKEN_POOL_SIZE',
  'TOKEN_POOL_MAX',
  'RATE_LIMIT_PER_TOKEN',
  'RATE_LIMIT_POLICY',
  'RATE_LIMIT_MAX_WAIT_MS',
  'WORKERS',
  'INBOUND_API_KEY',
  'PROTECTED_MODE',
  'SIDECAR_CONFIG',
  'LOG_LEVEL',
  'LOG_FORMAT',
]);

/** Defaults from the README's settings table that the deployment files line up with. */
export const DEFAULT_PORT = 8080;
export const DEFAULT_ADMIN_PORT = 9464;

/**
 * The README's metrics table (the sidecar metrics the dashboards and alerts may query), and
 * token_sidecar_pool_max: the cap of an auto pool, which the PoolAtCap alert compares the pool size
 * with (TOKEN_POOL_MAX is per profile, so a rule constant could not hold it).
 */
export const CONTRACT_METRICS: readonly string[] = [
  'token_sidecar_token_requests_total',
  'token_sidecar_token_request_duration_seconds',
  'token_sidecar_token_expiry_timestamp_seconds',
  'token_sidecar_lock_wait_seconds',
  'token_sidecar_lock_acquisitions_total',
  'token_sidecar_token_invalidations_total',
  'token_sidecar_replays_total',
  'token_sidecar_upstream_responses_total',
  'token_sidecar_upstream_request_duration_seconds',
  'token_sidecar_rate_limit_remaining',
  'token_sidecar_redis_up',
  'token_sidecar_pool_size',
  'token_sidecar_pool_max',
  'token_sidecar_rate_limited_total',
];

const HISTOGRAMS = new Set([
  'token_sidecar_token_request_duration_seconds',
  'token_sidecar_lock_wait_seconds',
  'token_sidecar_upstream_request_duration_seconds',
]);

/**
 * A series name a query may use: a contract metric (histograms through their _bucket/_sum/_count
 * series), Prometheus's own `up`, or prom-client's default process_* / nodejs_* metrics.
 */
export function isKnownSeries(name: string): boolean {
  if (name === 'up' || name.startsWith('process_') || name.startsWith('nodejs_')) return true;
  return contractMetricOf(name) !== undefined;
}

/** The contract metric a series belongs to, if any. */
export function contractMetricOf(name: string): string | undefined {
  if (CONTRACT_METRICS.includes(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
    if (base !== undefined && HISTOGRAMS.has(base)) return base;
  }
  return undefined;
}

/** An absolute path from a repository-relative one. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

export function readRepoFile(relative: string): string {
  return readFileSync(repoPath(relative), 'utf8');
}

/** YAML with `<<` merge keys, as Docker Compose reads it. */
export function readYaml(relative: string): unknown {
  return parse(readRepoFile(relative), { merge: true });
}

/** Narrows an unknown YAML/JSON value to a plain object, failing the test with `what` otherwise. */
export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${what}: expected a mapping, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${what}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}

export function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}
