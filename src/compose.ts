import type { Config, ProfileConfig } from './config/types.js';
import { IpcBackendClient } from './ipc/backend-client.js';
import { IpcBackendHost } from './ipc/backend-host.js';
import type { IpcChannel } from './ipc/call.js';
import { CacheReport } from './lifecycle/cache-report.js';
import { RefreshAheadCache } from './lifecycle/cached.js';
import { CoordinatedTokenSource } from './lifecycle/coordinated.js';
import { EndpointTokenSource } from './lifecycle/endpoint-source.js';
import { TokenPool } from './pool/pool.js';
import { PoolSizer } from './pool/pool-sizer.js';
import { TokenProfiles } from './pool/profiles.js';
import { PoolSlot } from './pool/slot.js';
import { IpcRefreshLock, lockOperations } from './lock/ipc.js';
import { LocalRefreshLock } from './lock/local.js';
import type { RefreshLock } from './lock/lock.js';
import { RedlockRefreshLock } from './lock/redlock.js';
import { SinglePrimaryRefreshLock } from './lock/single-primary.js';
import type { Logger } from './logging.js';
import type { Metrics } from './metrics/metrics.js';
import { IpcTokenStore, storeOperations } from './store/ipc.js';
import { poolKey, profileEventsChannel, rateKey, tokenKey } from './store/key.js';
import { FleetCounts } from './pool/fleet-counts.js';
import { APP_USER_RATE_KEY, CLIENT_CREDENTIALS_RATE_KEY, readLimitFromLimitsApi, type LimitsApiResult } from './pool/limits-api.js';
import { GENESYS_TOKEN_LIMIT_PER_MINUTE, TokenLimit } from './pool/token-limit.js';
import { MemoryTokenStore } from './store/memory.js';
import { RedisTokenStore } from './store/redis.js';
import type { TokenStore } from './store/store.js';
import type { Clock } from './token/clock.js';
import { createGrant } from './token/grants/index.js';
import { isSinglePrimary } from './redis/connections.js';
import { probeConnection } from './redis/probe.js';
import { SecretFile } from './config/secret-file.js';
import { settingLabel } from './config/settings.js';

/**
 * The composition root of the token lifecycle: the only place that picks the store and lock
 * (memory, Redis or IPC) and stacks the token sources. server.ts builds the apps around it.
 */

export interface Backends {
  readonly store: TokenStore;
  readonly lock: RefreshLock;
  readonly kind: 'memory' | 'redis';
  /** Other processes share the store (Redis, or a worker's primary): budgets are counted fleet-wide through it. */
  readonly shared?: boolean;
}

/**
 * The store and lock this process uses. Redis set (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER): the
 * Redis store, whatever the process, with the lock its mode calls for: Redlock over several
 * independent nodes, a single-primary lock on one URL, Sentinel's primary or a cluster. Otherwise: in
 * memory for a single process; for a worker (WORKERS > 1), the memory store and lock of its primary,
 * over the IPC `channel` (see `openStoreHost`).
 */
export function openBackends(config: Config, log: Logger, worker?: { channel: IpcChannel }): Backends {
  if (config.redis) {
    const connection = config.redis;
    const logger = log.child({ component: 'redis' });
    // A group's tokens are its members', published on the members' channels.
    const shardChannels = config.profiles.filter((profile) => profile.members === undefined).map((profile) =>
      profileEventsChannel(config.redisKeyPrefix, { tokenUrl: profile.tokenUrl, clientId: profile.clientId, profile: profile.name }),
    );
    return {
      store: new RedisTokenStore({ connection, channel: `${config.redisKeyPrefix}:events`, shardChannels, logger }),
      lock: isSinglePrimary(connection) ? new SinglePrimaryRefreshLock(connection) : new RedlockRefreshLock({ connection }),
      kind: 'redis',
      shared: true,
    };
  }
  if (worker) {
    const client = new IpcBackendClient(worker.channel);
    return { store: new IpcTokenStore(client), lock: new IpcRefreshLock(client), kind: 'memory', shared: true };
  }
  return { store: new MemoryTokenStore(), lock: new LocalRefreshLock(), kind: 'memory' };
}

/** The primary's side of the workers' shared memory store and lock; none when they share Redis instead. */
export function openStoreHost(config: Config): IpcBackendHost | undefined {
  return config.redis ? undefined : hostBackends(new MemoryTokenStore(), new LocalRefreshLock());
}

/** Offers `store` and `lock` to the workers over IPC (the workers' side: openBackends with a channel). */
export function hostBackends(store: TokenStore, lock: RefreshLock): IpcBackendHost {
  return new IpcBackendHost({
    operations: { ...storeOperations(store), ...lockOperations(lock) },
    subscribe: (listener) => store.subscribe(listener),
    close: async () => void (await Promise.all([store.close(), lock.close()])),
  });
}

export interface LifecycleDeps {
  readonly store: TokenStore;
  readonly lock: RefreshLock;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly instanceId: string;
  readonly random?: () => number;
  /** Other processes share the store: each pool counts its tokens' budgets fleet-wide through it (FleetCounts). */
  readonly sharedStore?: boolean;
}

/**
 * A profile's per-token limit at start (./pool/token-limit.ts): RATE_LIMIT_PER_TOKEN; else, for
 * Genesys, 300/minute until the Limits API says otherwise (docs/genesys.md §5, §10); else unknown,
 * to be learnt from a 429.
 */
export function initialTokenLimit(profile: ProfileConfig): TokenLimit {
  if (profile.rateLimitPerToken !== undefined) return new TokenLimit(profile.rateLimitWindowMs, profile.rateLimitPerToken, 'setting');
  if (profile.provider === 'genesys') return new TokenLimit(profile.rateLimitWindowMs, GENESYS_TOKEN_LIMIT_PER_MINUTE, 'genesys-default');
  return new TokenLimit(profile.rateLimitWindowMs);
}

/**
 * Every profile's pool; each slot a stack of token sources: endpoint → coordinated → refresh-ahead
 * cache. A fixed pool builds its slots here; an auto pool (TOKEN_POOL_SIZE=auto) starts with its
 * starting size and builds more through the slot factory as its PoolSizer grows it (slot keys as
 * for a fixed pool, so every instance sharing the store uses the same slots). Slots built later
 * join the subscribers that stop with the profiles.
 *
 * A group profile (`members`, config/groups.ts) gets one fixed slot per member, slot i on member i's
 * own lifecycle: the very refresh-ahead cache of the member profile's slot 0, on the same store key.
 * So the process has one lifecycle per key, whichever profile a request names: one refresh timer and
 * one grant reading the member's seed (two grants on one family would each present a replaced seed
 * file's token, the second a spent one), one subscription, one token request per refresh; across
 * processes the store and lock coordinate it as for the member profile alone. The cache counts the
 * slots that start and stop it (RefreshAheadCache.start). The group's slots keep budgets of their
 * own (counted under the group's name): a member loaded directly and through its group at once is
 * counted twice, once per profile.
 */
export function buildProfiles(config: Config, deps: LifecycleDeps): TokenProfiles {
  const coordinated: CoordinatedTokenSource[] = [];
  const lifecycles = new Map<string, RefreshAheadCache>();
  /** The lifecycle on slot `index`'s key of `profile`, built once per key; `started` subscribes a late one. */
  const lifecycleOf = (profile: ProfileConfig, index: number, started = false): RefreshAheadCache => {
    const key = tokenKey(config.redisKeyPrefix, { tokenUrl: profile.tokenUrl, clientId: profile.clientId, profile: profile.name, slot: index });
    let cache = lifecycles.get(key);
    if (cache === undefined) {
      const built = buildLifecycle(config, profile, index, key, deps);
      coordinated.push(built.shared);
      if (started) built.shared.start().catch((err: Error) => deps.log.warn({ err: err.message, slot: index }, 'could not subscribe to token publications yet'));
      lifecycles.set(key, built.cache);
      cache = built.cache;
    }
    return cache;
  };
  const byName = new Map(config.profiles.map((profile) => [profile.name, profile]));
  const pools = config.profiles.map((profile) => {
    const tokenLimit = initialTokenLimit(profile);
    // Budgets per user for user tokens (PoolSlot `budgetOf`), a group's members included.
    const budgetOf = profile.grant === 'refresh_token' ? 'user' : 'token';
    const slotOf = (index: number, started = false) => {
      const member = profile.members === undefined ? profile : byName.get(profile.members[index]!)!;
      const cache = lifecycleOf(member, profile.members === undefined ? index : 0, started);
      const injection = { header: member.injectHeader, prefix: member.injectPrefix };
      return new PoolSlot(profile.name, index, cache, deps.clock, deps.metrics.rateLimitCells.cell(profile.name, index), injection, tokenLimit, budgetOf);
    };
    const slots = Array.from({ length: profile.poolSize }, (_, index) => slotOf(index));
    const labels = { profile: profile.name };
    const pool = new TokenPool(profile.name, slots, {
      clock: deps.clock,
      policy: profile.rateLimitPolicy,
      maxWaitMs: profile.rateLimitMaxWaitMs,
      onRateLimited: (action) => deps.metrics.rateLimited.inc({ ...labels, action }),
      onSize: (size) => deps.metrics.setPoolSize(profile.name, size),
      tokenLimit,
      readLimit: limitsApiReader(profile),
      ...(profile.grant === 'refresh_token' && { userContext: profile.members === undefined ? 'user' : 'group' }),
      log: deps.log.child({ profile: profile.name }),
      slotFactory: profile.poolAuto ? (index) => slotOf(index, true) : undefined,
    });
    if (profile.poolAuto) {
      const key = poolKey(config.redisKeyPrefix, { tokenUrl: profile.tokenUrl, clientId: profile.clientId, profile: profile.name });
      pool.sizer = new PoolSizer(pool, { store: deps.store, key, clock: deps.clock, log: deps.log.child({ profile: profile.name }), max: profile.poolMax });
    }
    if (deps.sharedStore === true) {
      const key = rateKey(config.redisKeyPrefix, { tokenUrl: profile.tokenUrl, clientId: profile.clientId, profile: profile.name });
      pool.counts = new FleetCounts(pool, { store: deps.store, key, clock: deps.clock, log: deps.log.child({ profile: profile.name }) });
    }
    return pool;
  });
  return new TokenProfiles(config.defaultProfile, pools, coordinated, deps.log);
}

/**
 * For a Genesys profile whose per-token limit is not set: reads it from the Limits API (the budget
 * per token of a client-credentials token, or per user of a user token: docs/genesys.md §5, §10).
 */
function limitsApiReader(profile: ProfileConfig): ((accessToken: string) => Promise<LimitsApiResult>) | undefined {
  if (profile.provider !== 'genesys' || profile.rateLimitPerToken !== undefined) return undefined;
  const key = profile.grant === 'refresh_token' ? APP_USER_RATE_KEY : CLIENT_CREDENTIALS_RATE_KEY;
  return (accessToken) => readLimitFromLimitsApi({ apiBaseUrl: profile.upstreamUrl, accessToken, timeoutMs: LIMITS_API_TIMEOUT_MS, key });
}

/** The Limits API is asked once at start; the default stands if it has not answered by then. */
const LIMITS_API_TIMEOUT_MS = 5_000;

/** One token lifecycle on store key `key`: endpoint → coordinated (fleet-wide single fetch) → refresh-ahead cache. */
function buildLifecycle(config: Config, profile: ProfileConfig, index: number, key: string, deps: LifecycleDeps) {
  const { store, lock, clock, metrics, log } = deps;
  // One fetch may take the whole token timeout including retries; the lock outlives it by the
  // grace so a working holder is never overtaken, and an abandoned lock frees itself soon after.
  const budgetMs = config.tokenTimeoutMs;
  const grant = createGrant(profile, { store, key });
  const endpoint = new EndpointTokenSource({ profile, grant, clock, metrics, log, instanceId: deps.instanceId, budgetMs });
  const shared = new CoordinatedTokenSource(endpoint, { profile: profile.name, key, store, lock, clock, metrics, log, lockTtlMs: budgetMs + config.lockGraceMs });
  const report = new CacheReport(profile.name, index, metrics, log);
  const cache = new RefreshAheadCache(shared, { report, clock, refreshAt: config.refreshAt, random: deps.random });
  return { cache, shared };
}

/**
 * Settings that can never work, learnt by connecting once (../redis/probe.ts): each as a problem
 * naming the setting to fix and the address, never a credential. Empty when Redis is unset, fine,
 * or only unreachable (the sidecar then serves from memory until it comes up).
 */
export async function redisStartProblems(config: Config): Promise<string[]> {
  const redis = config.redis;
  if (!redis) return [];
  const failures = await probeConnection(redis);
  return failures.map((failure) => {
    const address = `${failure.to === 'sentinel' ? '' : 'Redis '}${failure.endpoint}`;
    const tls = failure.to === 'sentinel' && redis.target.mode === 'sentinel' ? redis.target.sentinelTls : redis.tls;
    const file = (name: 'redisTlsCaFile' | 'redisTlsCertFile') => {
      const part = name === 'redisTlsCaFile' ? tls?.ca : tls?.cert;
      return part instanceof SecretFile ? ` in ${JSON.stringify(part.path)}` : '';
    };
    switch (failure.kind) {
      case 'tls-untrusted':
        return tls?.ca
          ? `${settingLabel('redisTlsCaFile')}: the certificate of ${address} is not signed by the CA${file('redisTlsCaFile')} (${failure.code})`
          : `${settingLabel('redisTlsCaFile')}: the certificate of ${address} is not signed by a CA Node trusts (${failure.code}); give the server's CA`;
      case 'tls-name':
        return `${settingLabel('redisTlsServername')}: the certificate of ${address} does not name ${tls?.servername === undefined ? 'the host connected to' : JSON.stringify(tls.servername)} (${failure.code}); set a name it carries`;
      case 'tls-expired':
        return `${settingLabel('redisTlsCaFile')}: the certificate of ${address} is expired or not valid yet (${failure.code})`;
      case 'tls-client-certificate':
        return tls?.cert
          ? `${settingLabel('redisTlsCertFile')}: ${address} refused the client certificate${file('redisTlsCertFile')} (${failure.code})`
          : `${settingLabel('redisTlsCertFile')}: ${address} requires a client certificate (mutual TLS) (${failure.code})`;
      case 'not-tls':
        return `${settingLabel(failure.to === 'sentinel' ? 'redisSentinelTls' : 'redisTls')}: ${address} does not speak TLS (${failure.code}); use redis:// or turn TLS off`;
      case 'auth':
        return failure.to === 'sentinel'
          ? `${settingLabel('redisSentinelPassword')}: ${address} refused the password (${failure.code})`
          : `${settingLabel(redis.password instanceof SecretFile ? 'redisPasswordFile' : 'redis')}: ${address} refused the user or password (${failure.code})`;
    }
  });
}
