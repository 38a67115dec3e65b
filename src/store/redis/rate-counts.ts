import type { Redis, Result } from 'ioredis';

/**
 * The Redis side of RateCountStore (../store.ts): one hash per pool slot under the pool's rate key,
 * field = epoch second, value = requests the fleet sent with that slot's token in that second.
 * The slot keys share the pool key's hash tag (rateKey() in ../key.ts), so one script touches all
 * of a pool's slots on one Redis Cluster slot.
 */

/** The hash of slot `slot` under a pool's rate key. */
export function rateSlotKey(rateKey: string, slot: number): string {
  return `${rateKey}:${slot}`;
}

/**
 * KEYS: the slots' hashes, slot 0 first. ARGV: the second, the window in seconds, the retention in
 * seconds, then one delta per key. Adds each delta to its slot's bucket of that second, sums the
 * buckets from `second - window` on (a clock a little ahead on another instance counts too), drops
 * buckets older than the retention, and answers the sums in key order. O(buckets kept) per slot.
 */
const ADD_RATE_COUNTS = `
local second = tonumber(ARGV[1])
local from = second - tonumber(ARGV[2])
local oldest = second - tonumber(ARGV[3])
local totals = {}
for i, key in ipairs(KEYS) do
  local delta = tonumber(ARGV[3 + i])
  if delta > 0 then
    redis.call('HINCRBY', key, ARGV[1], delta)
    redis.call('EXPIRE', key, tonumber(ARGV[3]))
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
export function defineRateCountScript(client: Redis): Redis {
  client.defineCommand('tokenAddRateCounts', { lua: ADD_RATE_COUNTS });
  return client;
}
