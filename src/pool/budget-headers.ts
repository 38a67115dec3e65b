/**
 * Genesys's per-token rate-limit counters, as sent on its API responses (docs/genesys.md §5):
 * requests allowed per window, requests counted in it so far (by every client of that token), and
 * seconds until the window resets.
 */
export interface RateLimitReading {
  readonly allowed: number;
  readonly count: number;
  /** undefined when the response did not say. */
  readonly resetSeconds: number | undefined;
}

const ALLOWED = 'inin-ratelimit-allowed';
const COUNT = 'inin-ratelimit-count';
const RESET = 'inin-ratelimit-reset';

/** What a 429 without counters reads as: no budget left, reset unknown. */
const EXHAUSTED: RateLimitReading = { allowed: 0, count: 0, resetSeconds: undefined };

/**
 * Reads the counters from a response's raw headers (name, value, name, value...). Pure, and cheap
 * enough for every response: header names are compared byte by byte without decoding them.
 * undefined when the response carries no complete pair of counters, except that a 429 without them
 * reads as exhausted (allowed 0): Genesys's own 429 documentation shows only `Retry-After`.
 */
export function readRateLimit(statusCode: number, rawHeaders: readonly Buffer[]): RateLimitReading | undefined {
  let allowed = NaN;
  let count = NaN;
  let reset = NaN;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Every name has 20 or 22 bytes and starts with "inin-ratelimit-": most headers stop at the length.
    if (name.length === ALLOWED.length) {
      if (sameName(name, ALLOWED)) allowed = parseCount(rawHeaders[i + 1]!);
    } else if (name.length === COUNT.length) {
      if (sameName(name, COUNT)) count = parseCount(rawHeaders[i + 1]!);
      else if (sameName(name, RESET)) reset = parseCount(rawHeaders[i + 1]!);
    }
  }
  if (!Number.isNaN(allowed) && !Number.isNaN(count)) {
    return { allowed, count, resetSeconds: Number.isNaN(reset) ? undefined : reset };
  }
  return statusCode === 429 ? EXHAUSTED : undefined;
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
