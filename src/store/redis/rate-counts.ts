import type { Cluster, Redis, Result } from 'ioredis';

/**
 * The Redis side of RateCountStore (../store.ts): one hash per counter (a pool slot's token) under
 * the pool's rate key, field = bucket number, value = requests the fleet sent in that bucket. The
 * counters share the pool key's hash tag (rateKey() in ../key.ts), so one script reaches all of a
 * pool's counters on one Redis Cluster slot.
 */

/** The hash of one counter under a pool's rate key. */
export function rateCounterKey(rateKey: string, name: string): string {
  return `${rateKey}:${name}`;
}

/**
 * KEYS: the counters' hashes. ARGV: the bucket, the first bucket of the window, the oldest bucket
 * kept, the TTL in seconds, then one delta per key. Adds each delta to its counter's bucket, sums
 * the buckets from the window's first on (a clock a little ahead on another instance counts too),
 * drops buckets older than the oldest kept, and answers the sums in key order.
 */
const ADD_RATE_COUNTS = `
local bucket = ARGV[1]
local from = tonumber(ARGV[2])
local oldest = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local totals = {}
for i, key in ipairs(KEYS) do
  local delta = tonumber(ARGV[4 + i])
  if delta > 0 then
    redis.call('HINCRBY', key, bucket, delta)
    redis.call('EXPIRE', key, ttl)
  end
  local total = 0
  local fields = redis.call('HGETALL', key)
  for j = 1, #fields, 2 do
    local at = tonumber(fields[j])
    if at >= from then
      total = total + tonumber(fields[j + 1])
    elseif at < oldest then
      redis.call('HDEL', key, fields[j])
    end
  end
  totals[i] = total
end
return totals
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tokenAddRateCounts(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Result<number[], Context>;
  }
}

/** Registers the script on a command connection (EVALSHA, falling back to EVAL after a restart). */
export function defineRateCountScript<C extends Redis | Cluster>(client: C): C {
  client.defineCommand('tokenAddRateCounts', { lua: ADD_RATE_COUNTS });
  return client;
}
