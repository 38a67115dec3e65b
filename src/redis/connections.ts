/**
 * How the sidecar reaches Redis in each deployment mode, as one description (`RedisConnection`)
 * that the store, the lock and the start-up check all open connections from:
 *
 *   nodes     REDIS_URL: one primary, or several independent nodes (the store and Redlock then
 *             work by majority);
 *   sentinel  REDIS_SENTINELS + REDIS_SENTINEL_NAME: one logical primary, found through the
 *             sentinels and found again after a failover;
 *   cluster   REDIS_CLUSTER: one logical store spread over the cluster's primaries by hash slot.
 *
 * TLS material and the password are read at every connection attempt (`Current`: a SecretFile in
 * the sidecar), so a file replaced on disk is used by the next connection, never one already open.
 * Nothing here logs or returns a password, a key or a URL with credentials.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { COMMAND_TIMEOUT_MS, CONNECT_TIMEOUT_MS, isClosedOnPurpose, nodeLabel, reconnectDelay } from './client.js';

/** A value read when it is used (structurally a SecretFile). */
export interface Current<T> {
  readonly current: T;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface RedisTls {
  /** PEM CA bundle the server's certificate must chain to; unset: Node's default CAs. */
  readonly ca?: Current<string>;
  /** Client certificate and key (mutual TLS): both or neither. */
  readonly cert?: Current<string>;
  readonly key?: Current<string>;
  /** Name the server certificate is checked against (and SNI), instead of the host connected to. */
  readonly servername?: string;
}

export type RedisTarget =
  | { readonly mode: 'nodes'; readonly urls: readonly string[] }
  | {
      readonly mode: 'sentinel';
      readonly sentinels: readonly HostPort[];
      /** The primary's name as the sentinels know it. */
      readonly name: string;
      readonly sentinelPassword?: string;
      /** Present: TLS to the sentinels themselves, with this material. */
      readonly sentinelTls?: RedisTls;
    }
  | {
      readonly mode: 'cluster';
      readonly seeds: readonly HostPort[];
      /** Address a node announces → address this sidecar reaches it at (NAT, port forwarding, proxies). */
      readonly natMap?: Readonly<Record<string, HostPort>>;
    };

export interface RedisConnection {
  readonly target: RedisTarget;
  /** Present: TLS to the data nodes. With `nodes`, the TLS material for its rediss:// URLs. */
  readonly tls?: RedisTls;
  /** ACL user; a URL's own user name takes its place for that URL. */
  readonly username?: string;
  /** REDIS_PASSWORD_FILE; a URL's own password takes its place for that URL. */
  readonly password?: Current<string>;
}

/** One thing the store or the lock talks to: a node, a sentinel-found primary or a whole cluster. */
export interface Endpoint {
  /** `host:port` (or a list of them): safe to log. */
  readonly label: string;
  readonly client: Redis | Cluster;
}

/** Command connections: fail fast (no offline queue), bounded by the command timeout. */
const COMMAND: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
};

/** Subscriber connections: no command timeout, no auto-resubscribe (see client.ts). */
const SUBSCRIBER: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResubscribe: false,
};

/** A single-endpoint mode (one URL, Sentinel or Cluster): no quorum of independent nodes to form. */
export function isSinglePrimary(connection: RedisConnection): boolean {
  return connection.target.mode !== 'nodes' || connection.target.urls.length === 1;
}

/** Whether events go over sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7): in a cluster, they do. */
export function usesShardedPubSub(connection: RedisConnection): boolean {
  return connection.target.mode === 'cluster';
}

export function openEndpoints(connection: RedisConnection, role: 'command' | 'subscriber'): Endpoint[] {
  const roleOptions = role === 'command' ? COMMAND : SUBSCRIBER;
  const { target } = connection;
  switch (target.mode) {
    case 'nodes':
      return target.urls.map((url) => ({ label: nodeLabel(url), client: openNode(url, connection, roleOptions) }));
    case 'sentinel':
      return [{ label: `sentinel ${target.name}`, client: openSentinelPrimary(target, connection, roleOptions) }];
    case 'cluster':
      return [{ label: `cluster ${target.seeds.map(hostPort).join(',')}`, client: openCluster(target, connection, role) }];
  }
}

function openNode(url: string, connection: RedisConnection, roleOptions: RedisOptions): Redis {
  const tls = url.startsWith('rediss:') ? (connection.tls ?? {}) : undefined;
  return handled(
    withFreshSecrets(
      (retry) => new Redis({ ...baseOptions(retry), ...roleOptions, ...urlOptions(url), ...urlOverrides(url, connection, tls) }),
      (options) => Object.assign(options, urlOverrides(url, connection, tls)),
    ),
  );
}

function openSentinelPrimary(target: Extract<RedisTarget, { mode: 'sentinel' }>, connection: RedisConnection, roleOptions: RedisOptions): Redis {
  const fresh = (): RedisOptions => ({
    ...credentials(connection.username, connection.password),
    ...(connection.tls && { tls: tlsOptions(connection.tls), enableTLSForSentinelMode: true }),
    ...(target.sentinelTls && { sentinelTLS: tlsOptions(target.sentinelTls) }),
  });
  return restartedWhenEnded(handled(
    withFreshSecrets(
      (retry) =>
        new Redis({
          ...baseOptions(retry),
          ...roleOptions,
          sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
          name: target.name,
          role: 'master',
          ...(target.sentinelPassword !== undefined && { sentinelPassword: target.sentinelPassword }),
          // Each sentinel asked is tried once per round; the round repeats with the reconnect backoff.
          sentinelRetryStrategy: reconnectDelay,
          // A sentinel that does not answer (stalled, starved) is given up on like a node, and the
          // next one asked; without it the question waits for ever and the primary is never found.
          sentinelCommandTimeout: COMMAND_TIMEOUT_MS,
          // Hears +switch-master from the sentinels and reconnects at once, instead of when the old
          // primary's socket finally fails.
          failoverDetector: true,
          ...fresh(),
        }),
      (options) => Object.assign(options, fresh()),
    ),
  ));
}

/**
 * Starts a Sentinel-found connection again when ioredis has given it up (status `end`) without this
 * process closing it. ioredis (5.x) does so when the sentinels' failover notice (+switch-master, which
 * `failoverDetector` listens for) comes while the connection is still asking the sentinels where the
 * primary is: the notice cancels that attempt, and a cancelled attempt ends the connection for good
 * instead of retrying. Seen on a starved machine, where asking a sentinel is slow: a sidecar's store
 * stayed unreachable after a failover until it was restarted. Retries with the reconnect backoff.
 */
function restartedWhenEnded(client: Redis): Redis {
  let attempts = 0;
  client.on('ready', () => {
    attempts = 0;
  });
  client.on('end', () => {
    if (isClosedOnPurpose(client)) return;
    const timer = setTimeout(() => {
      if (client.status === 'end' && !isClosedOnPurpose(client)) client.connect().catch(() => {});
    }, reconnectDelay(++attempts));
    timer.unref();
  });
  return client;
}

function openCluster(target: Extract<RedisTarget, { mode: 'cluster' }>, connection: RedisConnection, role: 'command' | 'subscriber'): Cluster {
  const nodeOptions = (): RedisOptions => ({
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...NO_CLIENT_INFO,
    ...(role === 'command' && { commandTimeout: COMMAND_TIMEOUT_MS }),
    ...credentials(connection.username, connection.password),
    ...(connection.tls && { tls: tlsOptions(connection.tls) }),
  });
  const options: ClusterOptions = {
    redisOptions: nodeOptions(),
    // While the cluster is unreachable a command rejects at once, as on a node.
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => {
      // New node connections are made from redisOptions: give them the current secrets.
      Object.assign(options.redisOptions!, nodeOptions());
      return reconnectDelay(attempt);
    },
    // A primary that died is replaced by its replica within the cluster's node timeout; commands to
    // its slots are retried meanwhile, bounded by the command timeout above.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    ...(target.natMap && { natMap: { ...target.natMap } }),
    ...(role === 'subscriber' && { shardedSubscribers: true }),
  };
  const cluster = new Cluster(target.seeds.map((s) => ({ host: s.host, port: s.port })), options);
  cluster.on('-node', () => Object.assign(options.redisOptions!, nodeOptions()));
  cluster.on('error', () => {});
  cluster.on('node error', () => {});
  return cluster;
}

const baseOptions = (retryStrategy: (attempt: number) => number): RedisOptions => ({
  lazyConnect: false,
  connectTimeout: CONNECT_TIMEOUT_MS,
  retryStrategy,
  ...NO_CLIENT_INFO,
});

/**
 * No CLIENT SETINFO on connect: it is only a label, and leaving it out keeps the ACL rule the README
 * gives to the commands the sidecar needs.
 */
export const NO_CLIENT_INFO = { disableClientInfo: true } as const satisfies RedisOptions;

/**
 * Builds a client whose password and TLS material are refreshed before every reconnection:
 * ioredis reads its options object on each connect, so `refresh` updates that object in place.
 */
function withFreshSecrets(build: (retry: (attempt: number) => number) => Redis, refresh: (options: RedisOptions) => void): Redis {
  let client: Redis | undefined;
  client = build((attempt) => {
    if (client) refresh(client.options);
    return reconnectDelay(attempt);
  });
  return client;
}

/**
 * Where a `redis://` or `rediss://` URL points, and as whom: host, port, user, password, database.
 * Read here rather than by ioredis, whose parser gives a URL without a password an empty one, which
 * would shadow REDIS_PASSWORD_FILE.
 */
function urlOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: Number(parsed.port || 6379),
    ...(parsed.username && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
    ...(db !== undefined && Number.isSafeInteger(db) && { db }),
  };
}

/** What a URL leaves to the connection settings: user, password and TLS material. */
function urlOverrides(url: string, connection: RedisConnection, tls: RedisTls | undefined): RedisOptions {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  return {
    ...(parsed?.username ? {} : connection.username !== undefined && { username: connection.username }),
    ...(parsed?.password ? {} : connection.password && { password: connection.password.current }),
    ...(tls && { tls: tlsOptions(tls) }),
  };
}

function credentials(username: string | undefined, password: Current<string> | undefined): RedisOptions {
  return {
    ...(username !== undefined && { username }),
    ...(password && { password: password.current }),
  };
}

export function tlsOptions(tls: RedisTls): ConnectionOptions {
  return {
    ...(tls.ca && { ca: tls.ca.current }),
    ...(tls.cert && { cert: tls.cert.current }),
    ...(tls.key && { key: tls.key.current }),
    ...(tls.servername !== undefined && { servername: tls.servername }),
  };
}

function handled<C extends Redis>(client: C): C {
  client.on('error', () => {});
  return client;
}

export function hostPort({ host, port }: HostPort): string {
  return `${host}:${port}`;
}
