/**
 * The per-token rate limit a profile's pool budgets against, and where it came from. One per
 * profile, shared by its slots: a limit read from the Limits API or learnt from a 429 applies to
 * every token of the profile at once.
 *
 * Where it comes from, strongest first (what /token shows as `source`):
 * - `setting`: RATE_LIMIT_PER_TOKEN;
 * - `limits-api`: the organisation's effective `client.credentials.token.rate.per.minute`, read at
 *   start where the OAuth client may (Genesys only, docs/genesys.md §10);
 * - `429-body`: the value of a per-token limit a 429's body named (`limit: {key, value}`, a
 *   `*.per.minute` key; unconfirmed that Genesys fills it, docs/genesys.md §5): the upstream's own
 *   figure, so above the documented default, but below the Limits API's, read on purpose;
 * - `genesys-default`: 300/minute, Genesys's documented default for a client-credentials token
 *   (docs/genesys.md §5), when the Limits API could not be read;
 * - `learned`: no limit was known and an upstream 429 came; the fleet's count at that moment, less a
 *   margin, becomes the limit, and the 429's Retry-After says where the window ends;
 * - `unknown`: nothing known yet; the pool does not grow on budget and routes round-robin.
 * Budget headers, where an upstream sends them, win over all of these slot by slot (budget.ts).
 */
export type LimitSource = 'setting' | 'limits-api' | '429-body' | 'genesys-default' | 'learned' | 'unknown';

/** The sources, strongest first. */
const STRENGTH: readonly LimitSource[] = ['setting', 'limits-api', '429-body', 'genesys-default', 'learned', 'unknown'];

/**
 * Genesys's default per-token limit of a client-credentials token, `client.credentials.token.rate.per.minute`
 * (docs/genesys.md §5); an organisation may have had it raised, which the Limits API tells.
 */
export const GENESYS_TOKEN_LIMIT_PER_MINUTE = 300;

/** A learnt limit is this fraction of the count at which the 429 came (the count may run ahead of the upstream's). */
const LEARNED_FRACTION = 0.9;
/** Bounds of a window learnt from a 429's Retry-After. */
const MIN_LEARNED_WINDOW_MS = 1_000;
const MAX_WINDOW_MS = 120_000;
/** Windows are counted in this many buckets (a 60 s window in 1 s buckets; shorter windows in shorter ones). */
export const BUCKETS_PER_WINDOW = 60;

export class TokenLimit {
  /** Requests allowed per token per window; 0 = unknown. */
  perWindow = 0;
  windowMs: number;
  source: LimitSource = 'unknown';
  /** Why the limit is what it is, in words, for /token (e.g. the Limits API's failure). */
  note: string | undefined;
  /** The figure `set` was last given (perMinute is that figure after rounding to the window). */
  private givenPerMinute = NaN;
  /** Called when perWindow or windowMs change, so slots resize their counts. */
  private readonly listeners: Array<() => void> = [];

  constructor(windowMs: number, perMinute?: number, source: LimitSource = 'setting') {
    this.windowMs = Math.min(windowMs, MAX_WINDOW_MS);
    if (perMinute !== undefined) this.set(perMinute, source);
  }

  /** The bucket length counts are kept in. */
  get bucketMs(): number {
    return Math.max(1, Math.round(this.windowMs / BUCKETS_PER_WINDOW));
  }

  /** Requests per minute, as the setting and Genesys state it. */
  get perMinute(): number {
    return this.perWindow === 0 ? 0 : Math.round((this.perWindow * 60_000) / this.windowMs);
  }

  get known(): boolean {
    return this.perWindow > 0;
  }

  /**
   * What the pool budgets against: the limit less a fiftieth, for the jitter between when a request
   * is counted here and when it reaches the upstream's window (a limit under 50 is taken whole).
   */
  get usable(): number {
    return this.perWindow - Math.floor(this.perWindow / 50);
  }

  /**
   * What the pool budgets against when other instances send with the same tokens (`shared`): also
   * less the requests the fleet may send with one token in two batch intervals (`batchMs`), the most
   * the others can have sent that this instance has not heard of, at the per-token rate the limit
   * allows. Each instance reckons the others' unheard sends from the fleet ratio, which is right on
   * average but not token by token; without this, as tokens ran dry, the fleet overdrew each by a
   * request or two. A Genesys minute of 300 keeps its fiftieth (6 requests, more than the 3 the
   * batches need); a limit kept as a ratio on a shorter window (50 per 10 s) keeps 3, not 1.
   */
  usableShared(batchMs: number): number {
    const unheard = Math.ceil((2 * this.perWindow * batchMs) / this.windowMs);
    const jitter = Math.floor(this.perWindow / 50);
    return Math.max(1, this.perWindow - (unheard > jitter ? unheard : jitter));
  }

  set(perMinute: number, source: LimitSource, note?: string): void {
    this.givenPerMinute = perMinute;
    this.perWindow = Math.max(1, Math.floor((perMinute * this.windowMs) / 60_000));
    this.source = source;
    this.note = note;
    for (const listener of this.listeners) listener();
  }

  /**
   * Sets the limit unless a stronger source set it, or it already is this figure from this source
   * (then nothing changes, so that a figure repeated on every 429 does not resize every slot's
   * count). Returns whether it changed.
   */
  setIfStronger(perMinute: number, source: LimitSource, note?: string): boolean {
    if (STRENGTH.indexOf(source) > STRENGTH.indexOf(this.source)) return false;
    if (source === this.source && perMinute === this.givenPerMinute) return false;
    this.set(perMinute, source, note);
    return true;
  }

  /**
   * A 429 came on a token whose count was `count` in the window, with no limit known: the limit is
   * taken as a little less than that count. `windowMs`, when the 429 said when the window ends
   * (Retry-After plus the time since the token's window began), replaces the assumed window.
   */
  learn(count: number, windowMs: number | undefined): void {
    if (windowMs !== undefined) this.windowMs = Math.min(MAX_WINDOW_MS, Math.max(MIN_LEARNED_WINDOW_MS, Math.ceil(windowMs / 1000) * 1000));
    this.perWindow = Math.max(1, Math.floor(count * LEARNED_FRACTION));
    this.source = 'learned';
    this.note = `learnt from a 429 after ${count} requests in ${this.windowMs / 1000} s`;
    for (const listener of this.listeners) listener();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** What /token shows. */
  describe(): { perMinute: number | null; perWindow: number | null; windowSeconds: number; source: LimitSource; note?: string } {
    return {
      perMinute: this.known ? this.perMinute : null,
      perWindow: this.known ? this.perWindow : null,
      windowSeconds: this.windowMs / 1000,
      source: this.source,
      ...(this.note !== undefined && { note: this.note }),
    };
  }
}
