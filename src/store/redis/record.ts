/**
 * What the Redis store writes: the token record (JSON string value of the record key), the refresh
 * token record, the pool-size record, and the pub/sub event messages. A `stored` event carries the record itself, so a subscriber needs no GET.
 *
 * Both contain the access token, and the refresh record a refresh token: they go to Redis and back,
 * never to a log.
 * Decoding is defensive: anything malformed (another version's data, a stray publisher on the
 * channel) reads as absent rather than crashing a caller.
 */
import type { Token } from '../../token/token.js';
import type { PoolSizeRecord, StoreEvent } from '../store.js';

export function encodeToken(token: Token): string {
  return JSON.stringify(recordOf(token));
}

export function decodeToken(json: string | null): Token | null {
  if (json === null) return null;
  try {
    return asToken(JSON.parse(json));
  } catch {
    return null;
  }
}

/** The refresh token of a lifecycle with the generation it came with (the compare-and-set key). */
export interface RefreshRecord {
  readonly refreshToken: string;
  readonly generation: number;
}

export function encodeRefreshToken(record: RefreshRecord): string {
  return JSON.stringify({ refreshToken: record.refreshToken, generation: record.generation });
}

export function decodeRefreshToken(json: string | null): RefreshRecord | null {
  if (json === null) return null;
  try {
    const parsed: unknown = JSON.parse(json);
    if (!isObject(parsed) || typeof parsed.refreshToken !== 'string' || !Number.isSafeInteger(parsed.generation)) {
      return null;
    }
    return { refreshToken: parsed.refreshToken, generation: parsed.generation as number };
  } catch {
    return null;
  }
}

export function encodePoolSize(record: PoolSizeRecord): string {
  const { size, epoch, updatedAt, stopped } = record;
  return JSON.stringify(stopped === undefined ? { size, epoch, updatedAt } : { size, epoch, updatedAt, stopped });
}

export function decodePoolSize(json: string | null): PoolSizeRecord | null {
  if (json === null) return null;
  try {
    const parsed: unknown = JSON.parse(json);
    if (!isObject(parsed) || !Number.isSafeInteger(parsed.size) || !Number.isSafeInteger(parsed.epoch) || typeof parsed.updatedAt !== 'number') {
      return null;
    }
    const stopped = typeof parsed.stopped === 'string' ? { stopped: parsed.stopped } : {};
    return { size: parsed.size as number, epoch: parsed.epoch as number, updatedAt: parsed.updatedAt, ...stopped };
  } catch {
    return null;
  }
}

export function encodeEvent(event: StoreEvent): string {
  return event.type === 'stored'
    ? JSON.stringify({ type: 'stored', key: event.key, token: recordOf(event.token) })
    : JSON.stringify({ type: 'invalidated', key: event.key, generation: event.generation });
}

export function decodeEvent(message: string): StoreEvent | null {
  try {
    const parsed: unknown = JSON.parse(message);
    if (!isObject(parsed) || typeof parsed.key !== 'string') return null;
    if (parsed.type === 'stored') {
      const token = asToken(parsed.token);
      return token && { type: 'stored', key: parsed.key, token };
    }
    if (parsed.type === 'invalidated' && Number.isSafeInteger(parsed.generation)) {
      return { type: 'invalidated', key: parsed.key, generation: parsed.generation as number };
    }
    return null;
  } catch {
    return null;
  }
}

/** Exactly the Token fields, whatever else the object carries. */
function recordOf(token: Token): Token {
  const { accessToken, expiresAt, issuedAt, generation, fetchedBy, local } = token;
  return { accessToken, expiresAt, issuedAt, generation, fetchedBy, ...(local ? { local } : {}) };
}

function asToken(value: unknown): Token | null {
  if (
    !isObject(value) ||
    typeof value.accessToken !== 'string' ||
    typeof value.expiresAt !== 'number' ||
    typeof value.issuedAt !== 'number' ||
    !Number.isSafeInteger(value.generation) ||
    typeof value.fetchedBy !== 'string'
  ) {
    return null;
  }
  const token: Token = {
    accessToken: value.accessToken,
    expiresAt: value.expiresAt,
    issuedAt: value.issuedAt,
    generation: value.generation as number,
    fetchedBy: value.fetchedBy,
  };
  return value.local === true ? { ...token, local: true } : token;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
