import { createHash } from 'node:crypto';
import type { PoolIdentity, TokenIdentity } from './store.js';

/**
 * The store key of one token lifecycle. Hashes the token URL and client id (so keys from different
 * clients never collide and the client id does not appear in plain text), then names profile and
 * slot. Never includes the secret. The `{…}` hash tag keeps a lifecycle's keys in one Redis Cluster
 * slot so a Lua script may touch them together.
 */
export function tokenKey(prefix: string, id: TokenIdentity): string {
  return `${prefix}:{${clientHash(id)}:${id.profile}:${id.slot}}`;
}

/** The store key of one profile's pool-size record (PoolSizeStore), hashed and named like tokenKey. */
export function poolKey(prefix: string, id: PoolIdentity): string {
  return `${prefix}:{${clientHash(id)}:${id.profile}}:pool`;
}

function clientHash(id: PoolIdentity): string {
  return createHash('sha256').update(`${id.tokenUrl}\n${id.clientId}`).digest('hex').slice(0, 16);
}

/**
 * The store key under which one profile's pool keeps the fleet's request counts per slot
 * (RateCountStore): the pool key's hash tag, so one script reaches every slot's counts.
 */
export function rateKey(prefix: string, id: PoolIdentity): string {
  return `${prefix}:{${clientHash(id)}:${id.profile}}:rate`;
}

/**
 * The run's request count (MAX_REQUESTS): one per key prefix, shared by every profile and instance
 * on the store. A `{…}` hash tag of its own, like the other keys.
 */
export function requestCountKey(prefix: string): string {
  return `${prefix}:{run}:requests`;
}

/** The fleet's halt record (POST /admin/halt): one per key prefix. */
export function haltKey(prefix: string): string {
  return `${prefix}:{run}:halt`;
}
