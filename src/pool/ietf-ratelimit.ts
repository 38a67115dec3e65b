/**
 * The IETF httpapi draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers,
 * docs/genesys.md §5), its structured-field form, read from raw header values without decoding them
 * into strings:
 *
 * - -08 and later: `RateLimit-Policy` is a List of quota policies, each a policy name (a String, or a
 *   Token since the drafts allowed either) with `q` (quota, required), `w` (window, seconds), `qu`
 *   (quota unit, default "requests") and `pk` (partition key); `RateLimit` is a List of service
 *   limits, each the name of a policy with `r` (remaining quota, required) and `t` (seconds until
 *   more quota comes). Either field may be split over several field lines. Other parameters are
 *   comments and skipped.
 * - -07: `RateLimit` is a Dictionary `limit=<n>, remaining=<n>, reset=<seconds>`, `RateLimit-Policy`
 *   informative only (its Integer items are skipped). Read only when it has `limit` and `remaining`
 *   (the draft makes `remaining` optional, but without it nothing says how much is used).
 *
 * Which service limit is read: the one with the least remaining quota relative to its policy's quota
 * (r/q smallest; the first of equals), the policy that will refuse first. A service limit whose
 * policy is not listed, has no positive `q`, or counts other units than requests (`qu`
 * `content-bytes`, `concurrent-requests`) is skipped: it says nothing about requests. A field line
 * that is not well-formed is ignored whole (the draft: malformed fields MUST be ignored; a field
 * split over several lines loses only its malformed ones).
 *
 * Single-threaded and allocation-free: the members are scanned into two module-level scratch
 * records.
 */

/** What one List member or Dictionary member of a field line held, as far as this reader needs. */
class Member {
  /** The member's name (policy name, or a -07 dictionary key) as a byte range of `buf`, quotes excluded. */
  nameStart = 0;
  nameEnd = 0;
  /** A -07 dictionary member (`key=value`) rather than a List item; `value` is its Integer. */
  keyed = false;
  value = NaN;
  /** Parameters (NaN: absent or not a non-negative Integer). */
  r = NaN;
  t = NaN;
  q = NaN;
  /** `qu` absent or "requests". */
  requests = true;

  clear(): void {
    this.keyed = false;
    this.value = NaN;
    this.r = NaN;
    this.t = NaN;
    this.q = NaN;
    this.requests = true;
  }
}

const limitItem = new Member();
const policyItem = new Member();

/** The service limit chosen so far (module-level for the same reason). */
let bestAllowed = 0;
let bestRemaining = 0;
let bestReset = NaN;

const SP = 0x20;
const HTAB = 0x09;
const COMMA = 0x2c;
const SEMI = 0x3b;
const EQ = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const QMARK = 0x3f;
const MINUS = 0x2d;
const DOT = 0x2e;
const STAR = 0x2a;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLcAlpha = (c: number) => c >= 0x61 && c <= 0x7a;
const isAlpha = (c: number) => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
/** RFC 9110 tchar, plus ':' and '/' (RFC 8941 sf-token). */
function isTokenChar(c: number): boolean {
  if (isAlpha(c) || isDigit(c)) return true;
  switch (c) {
    case 0x21: case 0x23: case 0x24: case 0x25: case 0x26: case 0x27: case STAR: case 0x2b: case MINUS: case DOT:
    case 0x5e: case 0x5f: case 0x60: case 0x7c: case 0x7e: case COLON: case 0x2f:
      return true;
    default:
      return false;
  }
}

/** The three parts of a reading, or allowed 0 when no service limit could be read. */
export interface IetfReading {
  allowed: number;
  count: number;
  /** NaN when not sent. */
  resetSeconds: number;
}

/**
 * Reads the `RateLimit` field lines (indices of their values in `rawHeaders`: `limitAt`) against the
 * `RateLimit-Policy` ones (`policyAt`), into `out`. `out.allowed` is 0 when nothing usable was sent.
 */
export function readIetf(rawHeaders: readonly Buffer[], limitAt: readonly number[], limitLines: number, policyAt: readonly number[], policyLines: number, out: IetfReading): void {
  bestAllowed = 0;
  bestRemaining = 0;
  bestReset = NaN;
  let dictLimit = NaN;
  let dictRemaining = NaN;
  let dictReset = NaN;
  // Which policy lines are well-formed (bit l), checked once here rather than for every service
  // limit looked up in them.
  let policyOk = 0;
  for (let l = 0; l < policyLines && l < 31; l++) if (wellFormed(rawHeaders[policyAt[l]!]!, policyItem, false)) policyOk |= 1 << l;
  for (let l = 0; l < limitLines; l++) {
    const buf = rawHeaders[limitAt[l]!]!;
    if (!wellFormed(buf, limitItem, true)) continue;
    let pos = skipSpaces(buf, 0);
    while (pos < buf.length) {
      pos = scanMember(buf, pos, limitItem, true);
      if (pos < 0) break;
      if (limitItem.keyed) {
        // -07's Dictionary.
        if (sameBytes(buf, limitItem.nameStart, limitItem.nameEnd, 'limit')) dictLimit = limitItem.value;
        else if (sameBytes(buf, limitItem.nameStart, limitItem.nameEnd, 'remaining')) dictRemaining = limitItem.value;
        else if (sameBytes(buf, limitItem.nameStart, limitItem.nameEnd, 'reset')) dictReset = limitItem.value;
      } else if (!Number.isNaN(limitItem.r)) {
        const q = quotaOf(rawHeaders, policyAt, policyOk, buf, limitItem.nameStart, limitItem.nameEnd);
        if (q > 0) consider(q, limitItem.r, limitItem.t);
      }
    }
  }
  if (bestAllowed === 0 && dictLimit > 0 && !Number.isNaN(dictRemaining)) {
    bestAllowed = dictLimit;
    bestRemaining = dictRemaining;
    bestReset = dictReset;
  }
  out.allowed = bestAllowed;
  out.count = bestRemaining >= bestAllowed ? 0 : bestAllowed - bestRemaining;
  out.resetSeconds = bestReset;
}

/** Keeps the service limit with the least quota left relative to its quota: r/q below the best's. */
function consider(q: number, r: number, t: number): void {
  // r/q below the best's r/q, compared without dividing.
  if (bestAllowed === 0 || r * bestAllowed < bestRemaining * q) {
    bestAllowed = q;
    bestRemaining = r;
    bestReset = t;
  }
}

/**
 * The `q` of the request-counting policy named name[start, end), among the well-formed RateLimit-Policy
 * lines (`policyOk`: bit l for line l); 0 when none.
 */
function quotaOf(rawHeaders: readonly Buffer[], policyAt: readonly number[], policyOk: number, name: Buffer, start: number, end: number): number {
  for (let l = 0; policyOk >> l !== 0; l++) {
    if ((policyOk & (1 << l)) === 0) continue;
    const buf = rawHeaders[policyAt[l]!]!;
    let pos = skipSpaces(buf, 0);
    while (pos < buf.length) {
      pos = scanMember(buf, pos, policyItem, false);
      if (pos < 0) break;
      if (policyItem.nameEnd - policyItem.nameStart !== end - start) continue;
      if (name.compare(buf, policyItem.nameStart, policyItem.nameEnd, start, end) !== 0) continue;
      return policyItem.requests && policyItem.q > 0 ? policyItem.q : 0;
    }
  }
  return 0;
}

/** Whether every member of the field line scans (an empty line does not). */
function wellFormed(buf: Buffer, m: Member, dictionary: boolean): boolean {
  let pos = skipSpaces(buf, 0);
  if (pos >= buf.length) return false;
  while (pos < buf.length) if ((pos = scanMember(buf, pos, m, dictionary)) < 0) return false;
  return true;
}

/**
 * Scans one member at `pos` (after any leading spaces) into `m`: its name, then its parameters, up
 * to and past the comma that ends it. Returns the position of the next member, or -1 when the member
 * is malformed. `dictionary`: a member `key=Integer` is taken as a -07 Dictionary member.
 */
function scanMember(buf: Buffer, pos: number, m: Member, dictionary: boolean): number {
  m.clear();
  const c = buf[pos]!;
  if (c === DQUOTE) {
    m.nameStart = pos + 1;
    pos = skipString(buf, pos);
    if (pos < 0) return -1;
    m.nameEnd = pos - 1;
  } else if (isAlpha(c) || c === STAR) {
    m.nameStart = pos;
    while (pos < buf.length && isTokenChar(buf[pos]!)) pos++;
    m.nameEnd = pos;
    if (dictionary && buf[pos] === EQ) {
      m.keyed = true;
      pos++;
      const start = pos;
      while (pos < buf.length && isDigit(buf[pos]!)) pos++;
      if (pos === start || pos - start > 15) return -1;
      m.value = digits(buf, start, pos);
    }
  } else {
    // Another bare item (a -07 policy's Integer, say): no name to match, parameters still skipped.
    m.nameStart = m.nameEnd = pos;
    pos = skipBareItem(buf, pos);
    if (pos < 0) return -1;
  }
  while (pos < buf.length && buf[pos] === SEMI) {
    pos = skipSpaces(buf, pos + 1);
    const keyStart = pos;
    if (pos >= buf.length || !(isLcAlpha(buf[pos]!) || buf[pos] === STAR)) return -1;
    while (pos < buf.length && isKeyChar(buf[pos]!)) pos++;
    const keyLength = pos - keyStart;
    if (buf[pos] !== EQ) continue; // a parameter without a value is Boolean true
    pos++;
    const valueStart = pos;
    if (keyLength === 1 && isDigit(buf[pos] ?? 0)) {
      while (pos < buf.length && isDigit(buf[pos]!)) pos++;
      if (pos - valueStart > 15) return -1;
      if (buf[pos] === DOT) {
        pos = skipBareItem(buf, valueStart); // a Decimal: not an Integer, so not a count
        if (pos < 0) return -1;
        continue;
      }
      const n = digits(buf, valueStart, pos);
      const key = buf[keyStart];
      if (key === 0x72) m.r = n; // r
      else if (key === 0x74) m.t = n; // t
      else if (key === 0x71) m.q = n; // q
      continue;
    }
    if (keyLength === 2 && buf[keyStart] === 0x71 && buf[keyStart + 1] === 0x75 && buf[pos] === DQUOTE) {
      // qu: the quota unit
      const end = skipString(buf, pos);
      if (end < 0) return -1;
      m.requests = sameBytes(buf, pos + 1, end - 1, 'requests');
      pos = end;
      continue;
    }
    pos = skipBareItem(buf, pos);
    if (pos < 0) return -1;
  }
  pos = skipSpaces(buf, pos);
  if (pos >= buf.length) return pos;
  if (buf[pos] !== COMMA) return -1;
  pos = skipSpaces(buf, pos + 1);
  return pos < buf.length ? pos : -1; // a trailing comma is malformed
}

/** Past one bare item (Integer, Decimal, String, Token, Byte Sequence, Boolean); -1 when malformed. */
function skipBareItem(buf: Buffer, pos: number): number {
  const c = buf[pos];
  if (c === undefined) return -1;
  if (c === DQUOTE) return skipString(buf, pos);
  if (c === COLON) {
    const end = buf.indexOf(COLON, pos + 1);
    return end < 0 ? -1 : end + 1;
  }
  if (c === QMARK) return buf[pos + 1] === 0x30 || buf[pos + 1] === 0x31 ? pos + 2 : -1;
  if (c === MINUS || isDigit(c)) {
    let p = c === MINUS ? pos + 1 : pos;
    const start = p;
    while (p < buf.length && (isDigit(buf[p]!) || buf[p] === DOT)) p++;
    return p > start ? p : -1;
  }
  if (isAlpha(c) || c === STAR) {
    let p = pos + 1;
    while (p < buf.length && isTokenChar(buf[p]!)) p++;
    return p;
  }
  return -1;
}

/** Past a String starting at the quote at `pos`; -1 when it does not end. */
function skipString(buf: Buffer, pos: number): number {
  for (let p = pos + 1; p < buf.length; p++) {
    const c = buf[p]!;
    if (c === BACKSLASH) p++;
    else if (c === DQUOTE) return p + 1;
    else if (c < 0x20 || c > 0x7e) return -1;
  }
  return -1;
}

function isKeyChar(c: number): boolean {
  return isLcAlpha(c) || isDigit(c) || c === 0x5f || c === MINUS || c === DOT || c === STAR;
}

function skipSpaces(buf: Buffer, pos: number): number {
  while (pos < buf.length && (buf[pos] === SP || buf[pos] === HTAB)) pos++;
  return pos;
}

function digits(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let p = start; p < end; p++) n = n * 10 + (buf[p]! - 0x30);
  return n;
}

/** Whether buf[start, end) is exactly `ascii`. */
function sameBytes(buf: Buffer, start: number, end: number, ascii: string): boolean {
  if (end - start !== ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (buf[start + i] !== ascii.charCodeAt(i)) return false;
  return true;
}
