import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { Lease, LeasePool } from '../pool/lease.js';
import { readRateLimit, readRetryAfter, type RateLimitReading } from '../pool/budget-headers.js';
import { namedLimitInBody, type NamedLimit } from '../pool/budget-429.js';
import { appendServerTiming, microsecondsSince, serverTimingValue, sidecarMicroseconds, type RequestTiming } from './server-timing.js';

/** undici's handler callbacks in the form @fastify/reply-from's requests and undici's clients call them. */
export type Handler = Dispatcher.DispatchHandler;
export type DispatchOptions = Dispatcher.DispatchOptions;
export type Dispatch = (opts: DispatchOptions, handler: Handler) => boolean;

export type ReplayResult = 'success' | 'unauthorized' | 'not_replayable' | 'no_token';

/** Where the handler reports what it saw; plain calls, so the request path stays free of prom-client. */
export interface ResponseMeter {
  /** An upstream answer (final status, not 1xx) and the seconds from dispatch to its headers. */
  response(statusCode: number, seconds: number): void;
  /** An attempt that got no answer. */
  error(): void;
  /** How a request that met a 401 ended. */
  replay(result: ReplayResult): void;
  /** The sidecar's own seconds for a proxied answer (server-timing.ts `sidecar`). */
  added(seconds: number): void;
  /** SERVER_TIMING: whether answers get the Server-Timing header. */
  readonly serverTiming: boolean;
}

/** One proxied request as the handler needs it: everything to send it again, and whom to tell. */
export interface ReplayRequest {
  /** The next dispatcher down (the upstream connection pool), for the replay. */
  readonly dispatch: Dispatch;
  /** The request as first sent, with `lease`'s header set; its body, if any, is a buffer. */
  readonly opts: DispatchOptions;
  /** The client's handler (reply-from's), which gets one answer. */
  readonly handler: Handler;
  readonly lease: Lease;
  /** The lease's ticket (LeaseSlot.noteSent), handed back with the answer's rate-limit counters. */
  readonly ticket: number;
  /** The pool the lease came from: where a 429 of the token's own budget finds another slot. */
  readonly pool: LeasePool;
  /** False for a body that can be sent only once: a 401 or 429 then reaches the client. */
  readonly replayable: boolean;
  readonly meter: ResponseMeter;
  /** Server-Timing: where this request's time went (server-timing.ts); absent for a request the proxy plugin did not take. */
  readonly timing: RequestTiming | undefined;
  /** The run's brakes on a second request to the upstream (RequestGate.mayReplay); absent: always. */
  readonly mayReplay: (() => boolean) | undefined;
  /** Epoch ms, for budget headers that send their reset as an epoch second (budget-headers.ts). */
  readonly now: () => number;
}

/** Why a first answer was held back and the request sent again. */
type ReplayReason = 'unauthorized' | 'rate_limited';

/**
 * The largest body of an answer held for a replay (kept aside in case the replay cannot happen and it
 * must reach the client). A longer one is not replayed: it reaches the client whole, as it streams.
 */
export const MAX_HELD_BYTES = 64 * 1024;

/**
 * The largest 429 body read for the limit it names before the 429 is decided (Genesys's normalized
 * body is about 250 bytes, docs/genesys.md §5). A longer one is decided without its name.
 */
export const MAX_429_BODY_BYTES = 4 * 1024;

/** A first answer held back for a replay, and its body so far. */
interface HeldAnswer {
  readonly statusCode: number;
  readonly rawHeaders: Buffer[];
  readonly statusText: string;
  readonly resume: () => void;
  chunks: Buffer[];
  size: number;
}

/** A 429 waiting for its body, with what its headers said. */
interface Pending429 {
  readonly statusCode: number;
  readonly rawHeaders: Buffer[];
  readonly statusText: string;
  readonly resume: () => void;
  readonly limit: RateLimitReading | undefined;
  /** When its headers came (performance.now()): the sidecar's part of the time ends there. */
  readonly at: number;
  readonly chunks: Buffer[];
  size: number;
}

/**
 * Handler of one proxied request across at most two attempts (README "What it guarantees" 4 and 5).
 * Everything is forwarded to the client's handler, except on a replayable request:
 * - a first 401: held back; the lease's slot invalidates the token that was sent (compare-and-set,
 *   one refresh fleet-wide) and hands back a lease on a newer one, and the request goes out once
 *   more with it; if no newer token can be had, the held 401 reaches the client;
 * - a first 429 that is the sent token's own budget (the limit its body names is per token, or its
 *   counters are at the limit): the slot is marked exhausted until Retry-After or its window's end,
 *   and when another slot has budget the 429 is held back and the request goes out once more on
 *   that slot. Any other 429, or one with no slot to go to, reaches the client unchanged.
 * Every 429 (first or replay, replayable or not) is decided only once its body is in, up to
 * MAX_429_BODY_BYTES, for the limit the body may name (budget-429.ts namedLimitInBody): until then
 * its headers and body are held. Nothing else is held or read: other answers stream as they come.
 * The replay's answer, whatever it is, reaches the client. A request that cannot be replayed still
 * reports its 401 (or marks its slot exhausted), for the requests that follow.
 *
 * Every answer's rate-limit counters go to the slot whose token was sent, with the request's ticket.
 * The answer that reaches the client carries Server-Timing (server-timing.ts) when the meter says so,
 * and its sidecar part goes to the meter. A replay also needs the brakes' permit (mayReplay).
 *
 * Uses undici's handler interface as reply-from's requests and undici's clients both call it
 * (onConnect, onHeaders, onData, onComplete, onError), so no handler translation runs per request.
 */
export class ReplayHandler implements Handler {
  private lease: Lease;
  private ticket: number;
  private reason: ReplayReason | undefined;
  /** For a 429 replay: the lease on the slot with budget, chosen when the 429 was held. */
  private replayLease: Lease | undefined;
  private startedAt = performance.now();
  /** Aborts the attempt in flight (undici's; a no-op once that attempt has completed). */
  private abortAttempt: ((err?: Error) => void) | undefined;
  private connected = false;
  private replayed = false;
  /** Set when the client gave up or got its answer early: nothing more reaches it. */
  private finished = false;
  private held: HeldAnswer | undefined;
  /** A 429 whose body is still coming: decided when it is in (or too long to wait for). */
  private pending: Pending429 | undefined;
  /** MAX_REQUESTS: whether the brakes let this request be sent again; asked once, when first needed. */
  private replayPermit: boolean | undefined;

  constructor(private readonly request: ReplayRequest) {
    this.lease = request.lease;
    this.ticket = request.ticket;
  }

  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    this.abortAttempt = abort;
    if (this.connected) return;
    this.connected = true;
    (this.request.handler.onConnect as (abort: (err?: Error) => void, context?: unknown) => void)?.((err) => this.abortByClient(err), context);
  }

  onResponseStarted(): void {
    if (!this.held) this.request.handler.onResponseStarted?.();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    const { handler, meter } = this.request;
    if (statusCode < 200) return handler.onHeaders?.(statusCode, rawHeaders, resume, statusText) ?? true;
    const now = performance.now();
    meter.response(statusCode, (now - this.startedAt) / 1000);
    // Server-Timing: the upstream's part, summed over the attempts (server-timing.ts).
    const { timing } = this.request;
    if (timing !== undefined) timing.upstreamUs += Math.round((now - this.startedAt) * 1000);
    const limit = readRateLimit(statusCode, rawHeaders, this.request.now);
    if (limit) this.lease.slot.observeRateLimit(limit.allowed, limit.count, limit.resetSeconds, this.ticket);
    this.lease.slot.noteAnswer(statusCode);
    if (statusCode === 429) {
      this.pending = { statusCode, rawHeaders, statusText, resume, limit, at: now, chunks: [], size: 0 };
      return true;
    }
    return this.decide(statusCode, rawHeaders, resume, statusText, limit, undefined, now);
  }

  /**
   * What becomes of an answer (final status): held back for a replay (true), or passed to the
   * client's handler (its answer). `named`: the limit a 429's body names.
   */
  private decide(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string, limit: RateLimitReading | undefined, named: NamedLimit | undefined, now: number): boolean {
    const { handler, meter, timing } = this.request;
    if (this.replayed && this.reason === 'rate_limited' && statusCode === 401 && this.mayReplayAgain()) {
      // The 429's replay went out on another slot's token, which a newer token has since revoked (an
      // endpoint that revokes older tokens on issue, while the pool falls back to one token): one
      // 401 replay more, so the pool never costs the client a 401 (README "What it guarantees" 8).
      this.reason = 'unauthorized';
      this.held = { statusCode, rawHeaders, statusText, resume, chunks: [], size: 0 };
      return true;
    }
    if (this.replayed) {
      if (this.reason === 'unauthorized') meter.replay(statusCode === 401 ? 'unauthorized' : 'success');
      else if (statusCode === 429) this.noteOwnBudget429(limit, rawHeaders, named);
    } else if ((this.reason = this.replayReason(statusCode, limit, rawHeaders, named)) !== undefined) {
      if (this.replayAllowed()) {
        this.held = { statusCode, rawHeaders, statusText, resume, chunks: [], size: 0 };
        return true;
      }
      meter.replay('not_replayable');
      this.lease.slot.onUnauthorized(this.lease.token).catch(() => {});
    }
    if (timing !== undefined) this.stampTiming(timing, rawHeaders, now);
    return handler.onHeaders?.(statusCode, rawHeaders, resume, statusText) ?? true;
  }

  /**
   * The pending 429 is decided, with the limit its body names (undefined: none, or the body is too
   * long to wait for). Held for a replay, its body so far goes with it; passed on, its headers and
   * body so far go to the client now and the rest streams. Returns the client's handler's word on
   * the last chunk (false: pause until it calls resume), true when none went to it.
   */
  private settle429(named: NamedLimit | undefined): boolean {
    const pending = this.pending!;
    this.pending = undefined;
    const { statusCode, rawHeaders, statusText, resume, limit, at, chunks, size } = pending;
    let more = this.decide(statusCode, rawHeaders, resume, statusText, limit, named, at);
    const held = this.held;
    if (held !== undefined) {
      held.chunks = chunks;
      held.size = size;
      return true;
    }
    const { handler } = this.request;
    for (const chunk of chunks) more = handler.onData?.(chunk) ?? true;
    return more;
  }

  /** The answer going to the client: the sidecar's part into the histogram, and the Server-Timing header when on. */
  private stampTiming(timing: RequestTiming, rawHeaders: Buffer[], now: number): void {
    const { meter } = this.request;
    const sidecarUs = sidecarMicroseconds(timing, now);
    meter.added(sidecarUs / 1e6);
    if (meter.serverTiming) appendServerTiming(rawHeaders, serverTimingValue(timing, sidecarUs));
  }

  onData(chunk: Buffer): boolean {
    const { pending } = this;
    if (pending) {
      pending.chunks.push(chunk);
      pending.size += chunk.length;
      return pending.size > MAX_429_BODY_BYTES ? this.settle429(undefined) : true;
    }
    const { held } = this;
    if (held) {
      held.chunks.push(chunk);
      held.size += chunk.length;
      return held.size > MAX_HELD_BYTES ? this.passHeldOn() : true;
    }
    return this.request.handler.onData?.(chunk) ?? true;
  }

  /**
   * A held answer whose body outgrew MAX_HELD_BYTES is not replayed: holding more would cost memory
   * without bound and dropping it would hand the client a cut body under the upstream's
   * Content-Length. Its headers and body so far go to the client now and the rest streams; a 401's
   * token is still reported, so the requests that follow get a newer one. Returns the client's
   * handler's word on the last chunk.
   */
  private passHeldOn(): boolean {
    const held = this.held!;
    this.held = undefined;
    this.replayLease = undefined;
    if (this.reason === 'unauthorized') {
      this.request.meter.replay('not_replayable');
      this.lease.slot.onUnauthorized(this.lease.token).catch(() => {});
    }
    return this.deliver(held, held.resume);
  }

  /**
   * Hands a held answer to the client's handler: Server-Timing stamped, its headers, its body so far.
   * Returns the handler's word on the last chunk (false: pause until it calls `resume`).
   */
  private deliver(held: HeldAnswer, resume: () => void): boolean {
    const { handler, timing } = this.request;
    if (timing !== undefined) this.stampTiming(timing, held.rawHeaders, performance.now());
    let more = handler.onHeaders?.(held.statusCode, held.rawHeaders, resume, held.statusText) ?? true;
    for (const chunk of held.chunks) more = handler.onData?.(chunk) ?? true;
    return more;
  }

  onComplete(trailers: string[] | null): void {
    const { pending } = this;
    if (pending) this.settle429(namedLimitInBody(pending.chunks, pending.size));
    if (this.held) this.replay(this.held, trailers);
    else this.request.handler.onComplete?.(trailers);
  }

  onError(err: Error): void {
    if (this.finished) return;
    // A held or pending answer was counted as one; the error came after it, in its body.
    if (!this.held && !this.pending) this.request.meter.error();
    this.held = undefined;
    this.pending = undefined;
    this.request.handler.onError?.(err);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    this.request.handler.onUpgrade?.(statusCode, headers, socket);
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.request.handler.onBodySent?.(chunkSize, totalBytesSent);
  }

  /**
   * Why a first answer is held back and the request sent again, or undefined to pass it on. `limit`
   * is the answer's rate-limit reading and `named` the limit a 429's body names (for telling the
   * token's own budget from other 429s). A 429 is replayed only when the request is replayable and
   * another slot has budget now.
   */
  private replayReason(statusCode: number, limit: RateLimitReading | undefined, rawHeaders: Buffer[], named: NamedLimit | undefined): ReplayReason | undefined {
    if (statusCode === 401) return 'unauthorized';
    if (statusCode !== 429 || !this.noteOwnBudget429(limit, rawHeaders, named) || !this.replayAllowed()) return undefined;
    const { pool } = this.request;
    this.replayLease = pool.leaseForReplay(this.lease.slot);
    // No slot has budget now: wait for one while the pool grows (PoolSizer.canGrow).
    return this.replayLease !== undefined || pool.canWaitForBudget ? 'rate_limited' : undefined;
  }

  /** A second replay (a 401 after a 429's replay): a permit of its own under MAX_REQUESTS. */
  private mayReplayAgain(): boolean {
    if (!this.request.replayable) return false;
    const { mayReplay } = this.request;
    return mayReplay === undefined || mayReplay();
  }

  /**
   * The body can be sent again and the run's brakes allow one more request upstream (MAX_REQUESTS).
   * Without a permit the first answer reaches the client as for a body that cannot be replayed.
   */
  private replayAllowed(): boolean {
    if (!this.request.replayable) return false;
    const { mayReplay } = this.request;
    return mayReplay === undefined || (this.replayPermit ??= mayReplay());
  }

  /** Tells the slot of a 429; returns whether it was the sent token's own budget (the slot is then spent). */
  private noteOwnBudget429(limit: RateLimitReading | undefined, rawHeaders: Buffer[], named: NamedLimit | undefined): boolean {
    const counted = limit !== undefined && limit.allowed > 0;
    return this.lease.slot.rateLimited(counted ? limit.allowed : NaN, counted ? limit.count : NaN, readRetryAfter(rawHeaders), named);
  }

  /**
   * The lease the replay goes out with (a 401: one on a token newer than the rejected one; a 429:
   * another slot's, now or once one has budget), and its ticket when the pool counted it already.
   */
  private nextLease(): Promise<{ lease: Lease; ticket?: number }> {
    if (this.reason === 'rate_limited') {
      return this.replayLease !== undefined ? Promise.resolve({ lease: this.replayLease }) : this.request.pool.leaseOverBudget();
    }
    return this.lease.slot.onUnauthorized(this.lease.token).then((lease) => ({ lease }));
  }

  private replay(held: HeldAnswer, trailers: string[] | null): void {
    this.replayed = true;
    const { timing } = this.request;
    const waitStartedAt = performance.now();
    this.nextLease().then(
      ({ lease, ticket }) => {
        this.held = undefined;
        if (this.finished) return;
        if (timing !== undefined) {
          // Server-Timing: the wait for the newer token (a 401) is the token's part.
          timing.tokenUs += microsecondsSince(waitStartedAt);
          timing.replayed = this.reason === 'unauthorized' ? 401 : 429;
        }
        this.lease = lease;
        this.ticket = ticket ?? lease.slot.noteSent();
        this.startedAt = performance.now();
        const { opts, dispatch } = this.request;
        dispatch({ ...opts, headers: { ...(opts.headers as Record<string, string>), [lease.header]: lease.value } }, this);
      },
      () => {
        // No newer token (or no budget under RATE_LIMIT_POLICY=reject): the client gets the upstream's own answer, unchanged.
        this.held = undefined;
        if (this.reason === 'unauthorized') this.request.meter.replay('no_token');
        if (this.finished) return;
        if (timing !== undefined) timing.tokenUs += microsecondsSince(waitStartedAt);
        this.deliver(held, () => {});
        // Its own trailers (undici's request handler reads them: null would throw there).
        this.request.handler.onComplete?.(trailers);
      },
    );
  }

  /**
   * The client gave up. An attempt in flight is aborted (undici then calls onError). Between the
   * attempts nothing is in flight, so the client is answered here and the replay never goes out.
   */
  private abortByClient(err?: Error): void {
    if (this.finished) return;
    if (this.held) {
      this.finished = true;
      this.request.handler.onError?.(err ?? new Error('request aborted'));
      return;
    }
    this.abortAttempt?.(err);
  }
}
