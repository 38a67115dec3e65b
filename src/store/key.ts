import { createHash } from 'node:crypto';
import type { PoolIdentity, TokenIdentity } from './store.js';

/**
 * Store key names. Every key of one profile carries the profile's hash tag (`profileTag()`), so in a
 * Redis Cluster all of them live in one hash slot: a Lua script may touch any of them together and
 * never meets CROSSSLOT, and the profile's sharded events channel is on the same shard. A new kind of
 * key for a profile must be built from `profileTag()` too (`<prefix>:<tag>:<what>`); a key without
 * the tag is on some other slot.
 *
 * Keys hash the token URL and client id (so keys from different clients never collide and the client
 * id does not appear in plain text), then name the profile. Never a secret. The prefix cannot hold a
 * brace (REDIS_KEY_PREFIX's rule), so the first `{…}` of a key is always the tag.
 */
export function profileTag(id: PoolIdentity): string {
  return `{${clientHash(id)}:${id.profile}}`;
}

/** The store key of one token lifecycle (one pool slot of a profile). */
export function tokenKey(prefix: string, id: TokenIdentity): string {
  return `${prefix}:${profileTag(id)}:${id.slot}`;
}

/** The store key of one profile's pool-size record (PoolSizeStore). */
export function poolKey(prefix: string, id: PoolIdentity): string {
  return `${prefix}:${profileTag(id)}:pool`;
}

/** A profile's sharded pub/sub channel (Redis Cluster): on its keys' slot, so a script may SPUBLISH to it. */
export function profileEventsChannel(prefix: string, id: PoolIdentity): string {
  return `${prefix}:${profileTag(id)}:events`;
}

/** The profile events channel of a key built here: everything up to its tag, then `:events`. */
export function eventsChannelOfKey(key: string): string {
  const end = key.indexOf('}');
  if (end === -1) throw new Error('not a store key: it has no hash tag');
  return `${key.slice(0, end + 1)}:events`;
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
