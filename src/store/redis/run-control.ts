/**
 * The Lua script behind the run's request cap (MAX_REQUESTS) on one Redis node, and the halt record's
 * encoding. Keys under `requestCountKey()` and `haltKey()` (store/key.ts):
 *   <prefix>:{run}:requests   the run's count of granted requests (integer, no TTL)
 *   <prefix>:{run}:halt       the halt record (JSON {halted, at}, no TTL, never published)
 */
import type { Cluster, Redis, Result } from 'ioredis';
import { RESERVE_SPREAD, type HaltRecord } from '../store.js';

/**
 * KEYS: request count. ARGV: limit, largest block.
 * Grants min(block, ceil(remaining / spread)), at least 1, or 0 once nothing remains, and adds it to
 * the count, in one atomic step on the node (store.ts reserveRequests, grantFor). Returns
 * {granted, count after}.
 */
const RESERVE_REQUESTS = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local remaining = tonumber(ARGV[1]) - used
if remaining <= 0 then
  return {0, used}
end
local grant = math.min(tonumber(ARGV[2]), math.max(1, math.ceil(remaining / ${RESERVE_SPREAD})))
return {grant, redis.call('INCRBY', KEYS[1], grant)}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    runReserveRequests(countKey: string, limit: number, maxBlock: number): Result<[number, number], Context>;
  }
}

/** Registers the run-control script on a command connection (EVALSHA, falling back to EVAL after a restart). */
export function defineRunControlScripts<C extends Redis | Cluster>(client: C): C {
  client.defineCommand('runReserveRequests', { numberOfKeys: 1, lua: RESERVE_REQUESTS });
  return client;
}

export function encodeHalt(record: HaltRecord): string {
  return JSON.stringify({ halted: record.halted, at: record.at });
}

/** Anything malformed reads as absent (never halted by a stray value). */
export function decodeHalt(json: string | null): HaltRecord | null {
  if (json === null) return null;
  try {
    const parsed = JSON.parse(json) as { halted?: unknown; at?: unknown };
    return typeof parsed.halted === 'boolean' && typeof parsed.at === 'number' ? { halted: parsed.halted, at: parsed.at } : null;
  } catch {
    return null;
  }
}
