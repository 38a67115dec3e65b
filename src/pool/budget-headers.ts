/**
 * An upstream's rate-budget counters, read from its answers' raw headers (docs/genesys.md §5): requests
 * allowed per window, requests counted in it so far (by every client of that token), and seconds
 * until the window resets. Four kinds are read, and when an answer carries several, the first
 * complete one in this order wins:
 *
 * 1. Genesys's pre-2021 `inin-ratelimit-allowed`, `-count`, `-reset` (seconds): Genesys's own
 *    per-token counters;
 * 2. the IETF httpapi draft's structured fields, `RateLimit` with `RateLimit-Policy` (./ietf-ratelimit.ts);
 * 3. the older IETF drafts' (-06 and before) `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`;
 * 4. `x-ratelimit-limit` with `x-ratelimit-used` or `x-ratelimit-remaining`, and `x-ratelimit-reset`.
 *
 * The standard fields before the `x-` convention, the draft in force before the one it replaced. A
 * kind that is incomplete or malformed is passed over for the next. `count` is `used` (or the inin
 * count) where sent, else `allowed - remaining`. `RateLimit-Reset` and `x-ratelimit-reset` are delta
 * seconds, except that a value of at least 1e9 (2001-09-09 as an epoch second; 31 years as a delta) is
 * an epoch second, as GitHub sends `x-ratelimit-reset` and GitLab `RateLimit-Reset`: the seconds from
 * `now` to it (fractional), 0 when past.
 */
import { readIetf, type IetfReading } from './ietf-ratelimit.js';

export interface RateLimitReading {
  readonly allowed: number;
  readonly count: number;
  /** undefined when the response did not say. */
  readonly resetSeconds: number | undefined;
}

const ININ_ALLOWED = 'inin-ratelimit-allowed';
const ININ_COUNT = 'inin-ratelimit-count';
const ININ_RESET = 'inin-ratelimit-reset';
const RATELIMIT = 'ratelimit';
const RATELIMIT_POLICY = 'ratelimit-policy';
const RATELIMIT_LIMIT = 'ratelimit-limit';
const RATELIMIT_REMAINING = 'ratelimit-remaining';
const RATELIMIT_RESET = 'ratelimit-reset';
const X_LIMIT = 'x-ratelimit-limit';
const X_REMAINING = 'x-ratelimit-remaining';
const X_USED = 'x-ratelimit-used';
const X_RESET = 'x-ratelimit-reset';

/** A reset at least this large is an epoch second, not a delta (see above). */
const EPOCH_SECONDS_FROM = 1e9;

/** What a 429 without counters reads as: no budget left, reset unknown. */
const EXHAUSTED: RateLimitReading = { allowed: 0, count: 0, resetSeconds: undefined };

/** `RateLimit` and `RateLimit-Policy` may be split over field lines; at most this many of each are read. */
const MAX_IETF_LINES = 8;
const ietfLimitAt: number[] = new Array<number>(MAX_IETF_LINES).fill(0);
const ietfPolicyAt: number[] = new Array<number>(MAX_IETF_LINES).fill(0);
const ietf: IetfReading = { allowed: 0, count: 0, resetSeconds: NaN };

/**
 * Reads the counters from a response's raw headers (name, value, name, value...). Pure but for
 * `now` (epoch ms, asked only for a reset sent as an epoch second), and cheap enough for every
 * response: header names are told apart by length, then compared byte by byte without decoding;
 * an answer without any of these names costs one switch per header. undefined when the response
 * carries no complete kind, except that a 429 without one reads as exhausted (allowed 0): Genesys's
 * own 429 documentation shows only `Retry-After`.
 */
export function readRateLimit(statusCode: number, rawHeaders: readonly Buffer[], now: () => number = Date.now): RateLimitReading | undefined {
  // Where each field's value is in rawHeaders (-1: absent); the last line of a name wins, except
  // for the IETF structured fields, whose lines are all read.
  let ininAllowed = -1;
  let ininCount = -1;
  let ininReset = -1;
  let limitLines = 0;
  let policyLines = 0;
  let oldLimit = -1;
  let oldRemaining = -1;
  let oldReset = -1;
  let xLimit = -1;
  let xRemaining = -1;
  let xUsed = -1;
  let xReset = -1;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Every name read starts with 'i', 'r' or 'x': most headers stop at their first byte.
    const first = name[0]! | 0x20;
    if (first !== 0x72 && first !== 0x78 && first !== 0x69) continue;
    switch (name.length) {
      case 9:
        if (sameName(name, RATELIMIT) && limitLines < MAX_IETF_LINES) ietfLimitAt[limitLines++] = i + 1;
        break;
      case 15:
        if (sameName(name, RATELIMIT_LIMIT)) oldLimit = i + 1;
        else if (sameName(name, RATELIMIT_RESET)) oldReset = i + 1;
        break;
      case 16:
        if (sameName(name, RATELIMIT_POLICY)) {
          if (policyLines < MAX_IETF_LINES) ietfPolicyAt[policyLines++] = i + 1;
        } else if (sameName(name, X_USED)) xUsed = i + 1;
        break;
      case 17:
        if (sameName(name, X_LIMIT)) xLimit = i + 1;
        else if (sameName(name, X_RESET)) xReset = i + 1;
        break;
      case 19:
        if (sameName(name, RATELIMIT_REMAINING)) oldRemaining = i + 1;
        break;
      case 20:
        if (sameName(name, ININ_COUNT)) ininCount = i + 1;
        else if (sameName(name, ININ_RESET)) ininReset = i + 1;
        break;
      case 21:
        if (sameName(name, X_REMAINING)) xRemaining = i + 1;
        break;
      case 22:
        if (sameName(name, ININ_ALLOWED)) ininAllowed = i + 1;
        break;
    }
  }
  if (ininAllowed >= 0 && ininCount >= 0) {
    const allowed = parseCount(rawHeaders[ininAllowed]!);
    const count = parseCount(rawHeaders[ininCount]!);
    if (!Number.isNaN(allowed) && !Number.isNaN(count)) return { allowed, count, resetSeconds: ininReset >= 0 ? optional(parseCount(rawHeaders[ininReset]!)) : undefined };
  }
  if (limitLines > 0) {
    readIetf(rawHeaders, ietfLimitAt, limitLines, ietfPolicyAt, policyLines, ietf);
    if (ietf.allowed > 0) return { allowed: ietf.allowed, count: ietf.count, resetSeconds: optional(ietf.resetSeconds) };
  }
  if (oldLimit >= 0 && oldRemaining >= 0) {
    const reading = fromRemaining(parseLeadingCount(rawHeaders[oldLimit]!), parseCount(rawHeaders[oldRemaining]!), NaN, rawHeaders, oldReset, now);
    if (reading !== undefined) return reading;
  }
  if (xLimit >= 0 && (xUsed >= 0 || xRemaining >= 0)) {
    const used = xUsed >= 0 ? parseCount(rawHeaders[xUsed]!) : NaN;
    const remaining = xRemaining >= 0 ? parseCount(rawHeaders[xRemaining]!) : NaN;
    const reading = fromRemaining(parseCount(rawHeaders[xLimit]!), remaining, used, rawHeaders, xReset, now);
    if (reading !== undefined) return reading;
  }
  return statusCode === 429 ? EXHAUSTED : undefined;
}

/** A reading from a limit and `used` (else `remaining`); undefined when they do not make one. */
function fromRemaining(allowed: number, remaining: number, used: number, rawHeaders: readonly Buffer[], resetAt: number, now: () => number): RateLimitReading | undefined {
  if (Number.isNaN(allowed)) return undefined;
  const count = !Number.isNaN(used) ? used : !Number.isNaN(remaining) ? Math.max(0, allowed - remaining) : NaN;
  if (Number.isNaN(count)) return undefined;
  return { allowed, count, resetSeconds: resetAt >= 0 ? resetSeconds(parseCount(rawHeaders[resetAt]!), now) : undefined };
}

/**
 * A reset in delta seconds, or an epoch second (EPOCH_SECONDS_FROM) as the seconds from `now` to it,
 * not rounded: the upstream rounded it to a whole second already, and rounding again would put the
 * end of one window up to two seconds apart from one answer to the next.
 */
function resetSeconds(value: number, now: () => number): number | undefined {
  if (Number.isNaN(value)) return undefined;
  if (value < EPOCH_SECONDS_FROM) return value;
  const seconds = (value * 1000 - now()) / 1000;
  return seconds > 0 ? seconds : 0;
}

function optional(value: number): number | undefined {
  return Number.isNaN(value) ? undefined : value;
}

/** ASCII case-insensitive comparison against a lower-case name made of letters and '-'. */
function sameName(name: Buffer, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((name[i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** A non-negative decimal integer, surrounding spaces allowed; NaN for anything else. */
function parseCount(value: Buffer): number {
  let n = 0;
  let digits = 0;
  let i = 0;
  while (i < value.length && (value[i] === 0x20 || value[i] === 0x09)) i++;
  for (; i < value.length; i++) {
    const c = value[i]!;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    digits++;
  }
  while (i < value.length && (value[i] === 0x20 || value[i] === 0x09)) i++;
  return digits > 0 && i === value.length ? n : NaN;
}

/**
 * The first member of `RateLimit-Limit`: the earliest drafts let it list the quota policies after
 * the limit in force (`100, 100;w=60, 1000;w=3600`), the later ones send the limit alone.
 */
function parseLeadingCount(value: Buffer): number {
  let end = 0;
  while (end < value.length && value[end] !== 0x2c && value[end] !== 0x3b) end++;
  return parseCount(end === value.length ? value : value.subarray(0, end));
}

const RETRY_AFTER = 'retry-after';

/**
 * `Retry-After` in seconds from a response's raw headers (Genesys sends whole seconds, docs/genesys.md
 * §5); undefined when absent or an HTTP date (then the window's end stands in). Read on 429s only.
 */
export function readRetryAfter(rawHeaders: readonly Buffer[]): number | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === RETRY_AFTER.length && sameName(name, RETRY_AFTER)) {
      const seconds = parseCount(rawHeaders[i + 1]!);
      return Number.isNaN(seconds) ? undefined : seconds;
    }
  }
  return undefined;
}
