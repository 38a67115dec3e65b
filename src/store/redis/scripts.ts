/**
 * The Lua scripts that make the token store correct on one Redis node. Each runs atomically on its
 * node, so a compare and the write it guards can never be split by another instance's write.
 *
 * Every key a script touches, and the channel it publishes on in a cluster, carries the profile's
 * hash tag (../key.ts `profileTag()`), so each script runs on one Redis Cluster slot.
 *
 * Keys of one token lifecycle:
 *   <key>             the token record (JSON), PX TTL = expiresAt - now
 *   <key>:generation  the generation counter (no TTL)
 *   <key>:written     the highest generation ever written (no TTL): outlives the token, so a
 *                     refresher that stalled and wakes after the newer token expired or was
 *                     invalidated still cannot land its older token
 *   <key>:refresh     the refresh token and the generation it came with (JSON, no TTL, never
 *                     published, never deleted: the one it rotated from is already spent)
 */
import type { Cluster, Redis, Result } from 'ioredis';

/*
 * And one key per profile, under `poolKey()`: the pool-size record (JSON {size, epoch, updatedAt},
 * no TTL, never published).
 */

export function generationCounterKey(key: string): string {
  return `${key}:generation`;
}

export function highestWrittenKey(key: string): string {
  return `${key}:written`;
}

export function refreshTokenKey(key: string): string {
  return `${key}:refresh`;
}

/**
 * How an event is published: PUBLISH on one channel (a node, Sentinel), or SPUBLISH on the profile's
 * shard channel (Redis Cluster: the message stays on the shard that holds the keys).
 */
export type PublishCommand = 'PUBLISH' | 'SPUBLISH';

/**
 * KEYS: record, highest written. ARGV: generation, record JSON, TTL ms, channel, event JSON,
 * publish command. Lands only if generation > max(stored record's generation, highest ever written); publishes the
 * event in the same atomic step, so a landed write is never left unannounced. Returns 1 or 0.
 */
const PUT_IF_NEWER = `
local generation = tonumber(ARGV[1])
local highest = tonumber(redis.call('GET', KEYS[2]) or '0')
local current = redis.call('GET', KEYS[1])
if current then
  highest = math.max(highest, tonumber(cjson.decode(current)['generation']))
end
if generation <= highest then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[1])
redis.call(ARGV[6], ARGV[4], ARGV[5])
return 1
`;

/**
 * KEYS: record. ARGV: generation, channel, event JSON, publish command.
 * Deletes the record only if it still holds that generation (a 401 on an old token must not remove
 * its successor), and publishes the removal. Returns 1 or 0.
 */
const INVALIDATE = `
local current = redis.call('GET', KEYS[1])
if not current or tonumber(cjson.decode(current)['generation']) ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call(ARGV[4], ARGV[2], ARGV[3])
return 1
`;

/**
 * KEYS: refresh record. ARGV: generation, refresh record JSON.
 * Lands only if generation > the stored refresh record's generation. Returns 1 or 0.
 */
const PUT_REFRESH_TOKEN_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current and tonumber(ARGV[1]) <= tonumber(cjson.decode(current)['generation']) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

/**
 * KEYS: generation counter, highest written.
 * An INCR that also steps over every generation ever written (a token may have been stored with a
 * generation this counter never handed out, e.g. on a node that missed some increments).
 */
const NEXT_GENERATION = `
local counter = tonumber(redis.call('GET', KEYS[1]) or '0')
local written = tonumber(redis.call('GET', KEYS[2]) or '0')
local nextGeneration = math.max(counter, written) + 1
redis.call('SET', KEYS[1], nextGeneration)
return nextGeneration
`;

/**
 * KEYS: generation counter. ARGV: floor.
 * Raises the counter to at least `floor`, never lowers it (a concurrent caller may have gone past).
 */
const RAISE_GENERATION = `
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
`;

/**
 * KEYS: pool-size record. ARGV: the epoch the setter read, the new record JSON (its epoch is one more).
 * Lands unless the stored record's epoch is newer than the one read. "Newer", not "different": a
 * node that missed earlier sets (it was down) takes the record and catches up, instead of refusing
 * every later set and leaving the nodes split for good. Returns 1 or 0.
 */
const SET_POOL_SIZE = `
local current = redis.call('GET', KEYS[1])
if current and tonumber(cjson.decode(current)['epoch']) > tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tokenPutIfNewer(
      recordKey: string,
      highestWrittenKey: string,
      generation: number,
      record: string,
      ttlMs: number,
      channel: string,
      event: string,
      publish: PublishCommand,
    ): Result<number, Context>;
    tokenInvalidate(recordKey: string, generation: number, channel: string, event: string, publish: PublishCommand): Result<number, Context>;
    tokenPutRefreshIfNewer(refreshKey: string, generation: number, record: string): Result<number, Context>;
    tokenNextGeneration(counterKey: string, highestWrittenKey: string): Result<number, Context>;
    tokenRaiseGeneration(counterKey: string, floor: number): Result<number, Context>;
    tokenSetPoolSize(poolKey: string, expectedEpoch: number, record: string): Result<number, Context>;
  }
}

/** Registers the scripts on a command connection (EVALSHA, falling back to EVAL after a restart). */
export function defineTokenScripts<C extends Redis | Cluster>(client: C): C {
  client.defineCommand('tokenPutIfNewer', { numberOfKeys: 2, lua: PUT_IF_NEWER });
  client.defineCommand('tokenInvalidate', { numberOfKeys: 1, lua: INVALIDATE });
  client.defineCommand('tokenPutRefreshIfNewer', { numberOfKeys: 1, lua: PUT_REFRESH_TOKEN_IF_NEWER });
  client.defineCommand('tokenNextGeneration', { numberOfKeys: 2, lua: NEXT_GENERATION });
  client.defineCommand('tokenRaiseGeneration', { numberOfKeys: 1, lua: RAISE_GENERATION });
  client.defineCommand('tokenSetPoolSize', { numberOfKeys: 1, lua: SET_POOL_SIZE });
  return client;
}
