import type { HostPort } from '../redis/connections.js';
import { availableParallelism } from 'node:os';
import { resolveRegion, type Region } from './regions.js';

/**
 * How the text of a setting becomes a value: the parsers the settings table (settings.ts) names, for
 * every section but the OAuth2 provider's (provider-rules.ts). Shared by flags, env and the profiles
 * file, so all three accept the same text.
 */

/** A parser's answer: the value, or the rule the text broke, phrased to follow `SETTING: `. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rule: string };

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const broken = (rule: string): Parsed<never> => ({ ok: false, rule });

export const anyText = (text: string): Parsed<string> => ok(text);

export function integer(min: number, max?: number): (text: string) => Parsed<number> {
  const rule = max === undefined ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}`;
  return (text) => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    return Number.isSafeInteger(n) && n >= min && (max === undefined || n <= max) ? ok(n) : broken(rule);
  };
}

/** Case-insensitive choice among lower-case words. */
export function oneOf<const V extends string>(choices: readonly V[]): (text: string) => Parsed<V> {
  return (text) => {
    const choice = choices.find((c) => c === text.toLowerCase());
    return choice !== undefined ? ok(choice) : broken(`must be one of ${choices.join(', ')}`);
  };
}

const ON = ['on', 'true', 'yes', '1'];
const OFF = ['off', 'false', 'no', '0'];
export function onOff(text: string): Parsed<boolean> {
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
export function refreshFraction(text: string): Parsed<number> {
  const n = /^(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : NaN;
  return n >= 0.1 && n <= 0.95 ? ok(n) : broken('must be a number from 0.1 to 0.95');
}

export function workerCount(text: string): Parsed<number> {
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

export function poolSize(text: string): Parsed<PoolSizeSetting> {
  if (text.toLowerCase() === 'auto') return ok<PoolSizeSetting>('auto');
  const size = integer(1, POOL_LIMIT)(text);
  return size.ok ? size : broken(`must be auto or an integer from 1 to ${POOL_LIMIT}`);
}

/** What happens to a request when every token is out of budget and the pool cannot grow. */
export type RateLimitPolicy = 'pass' | 'wait' | 'reject';

export function region(text: string): Parsed<Region> {
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
export function upstreamUrl(text: string): Parsed<string> {
  const url = httpUrl(text);
  if (!url) return broken('must be an absolute http(s) URL');
  if (url.username || url.password) return broken(NO_CREDENTIALS);
  if (/[?#]/.test(text)) return broken('must not have a query or fragment (a path prefix is fine)');
  return ok(`${url.origin}${url.pathname.replace(/\/+$/, '')}`);
}

export function tokenEndpointUrl(text: string): Parsed<string> {
  const url = httpUrl(text);
  if (!url) return broken('must be an absolute http(s) URL');
  if (url.username || url.password) return broken(NO_CREDENTIALS);
  if (text.includes('#')) return broken('must not have a fragment');
  return ok(url.href);
}

/** A comma-separated list; empty entries are skipped, so `a,` and `` mean `a` and the memory store. */
export function redisUrls(text: string): Parsed<readonly string[]> {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const bad = entries.flatMap((entry, i) => {
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    return (url?.protocol === 'redis:' || url?.protocol === 'rediss:') && url.hostname !== '' ? [] : [i + 1];
  });
  if (bad.length === 1) return broken(`entry ${bad[0]} is not a redis:// or rediss:// URL`);
  if (bad.length > 1) return broken(`entries ${bad.join(', ')} are not redis:// or rediss:// URLs`);
  return ok(entries);
}

/** Store keys are `<prefix>:{…}`; a brace in the prefix would break the Redis Cluster hash tag. */
export function keyPrefix(text: string): Parsed<string> {
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(text) ? ok(text) : broken('must be 1 to 64 of A-Z a-z 0-9 _ . : -');
}

/** `host:port` or `host` (then `defaultPort`); IPv6 in brackets: `[::1]:6379`. The type is the Redis connection's. */
export function hostPortOf(entry: string, defaultPort: number): HostPort | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/@\[\]]+)(?::(\d{1,5}))?$/.exec(entry);
  if (!match) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

export function hostPortList(defaultPort: number): (text: string) => Parsed<readonly HostPort[]> {
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

export function clusterSeeds(text: string): Parsed<ClusterSeeds> {
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
export function natMap(text: string): Parsed<Readonly<Record<string, HostPort>>> {
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

export type { HostPort };
