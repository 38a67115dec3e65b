import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Dispatcher } from 'undici';
import { SidecarError } from '../errors.js';
import type { Lease, LeasePool } from '../lifecycle/lease.js';
import type { Metrics } from '../metrics/metrics.js';
import { RateLimitObserver } from './rate-limit.js';

export const PROFILE_HEADER = 'x-token-profile';

export interface TokenDispatcherOptions {
  /** The pool a request's x-token-profile header names (or the default); undefined if unknown. */
  readonly poolFor: (profile: string | undefined) => LeasePool | undefined;
  readonly metrics: Metrics;
  /** Request bodies with a Content-Length up to this are buffered so a 401 can be replayed. */
  readonly replayBodyLimitBytes: number;
}

/** The largest 401 body kept aside in case the replay cannot happen and it must reach the client. */
const MAX_HELD_401_BYTES = 64 * 1024;

type Handler = Dispatcher.DispatchHandler;
type Options = Dispatcher.DispatchOptions;

/**
 * The one place a bearer token is put on a request and a stale-token 401 is replayed (contract
 * guarantees 1, 4, 6). Wraps the upstream connection pool and is handed to @fastify/http-proxy as
 * its undici dispatcher, so every proxied request passes through `dispatch()`.
 *
 * Per request: lease a valid token (synchronous in steady state), set `authorization`, strip the
 * profile header, dispatch. If the upstream answers 401 and the body is replayable (none, or
 * buffered), the 401 is held back, the slot invalidates that token (compare-and-set, one refresh
 * fleet-wide), and the request goes out once more with the new token; its answer, whatever it is,
 * reaches the client. A streamed body cannot be replayed: its 401 reaches the client and the token
 * is still invalidated for the requests that follow.
 *
 * Uses undici's handler interface as @fastify/reply-from calls it (onConnect/onHeaders/...), so no
 * handler translation layer is added per request.
 */
export class TokenDispatcher extends Dispatcher {
  private readonly rateLimits: RateLimitObserver;
  private readonly upstreamCodes = new Map<number, { inc(): void }>();

  constructor(
    private readonly upstream: Dispatcher,
    private readonly options: TokenDispatcherOptions,
  ) {
    super();
    this.rateLimits = new RateLimitObserver(options.metrics);
  }

  override dispatch(opts: Options, handler: Handler): boolean {
    const headers = opts.headers as Record<string, string | string[] | undefined>;
    const profile = headers[PROFILE_HEADER] as string | undefined;
    if (profile !== undefined) headers[PROFILE_HEADER] = undefined;
    const pool = this.options.poolFor(profile);
    if (!pool) {
      handler.onError?.(new SidecarError('unknownProfile', `unknown token profile "${profile}"`));
      return true;
    }

    const lease = pool.lease();
    const body = opts.body;
    if (lease && (body == null || typeof body === 'string' || body instanceof Uint8Array)) {
      return this.send(opts, handler, lease, true);
    }
    // Slow path: no token held right now, or a body still to be read.
    this.prepare(opts, pool, lease).then(
      ({ opts: ready, lease: leased, replayable }) => this.send(ready, handler, leased, replayable),
      (err: Error) => handler.onError?.(err),
    );
    return true;
  }

  /** Sends one attempt with `lease`'s token; `replayable` allows one replay on 401. */
  send(opts: Options, handler: Handler, lease: Lease, replayable: boolean): boolean {
    (opts.headers as Record<string, string>)[lease.header] = lease.value;
    return this.upstream.dispatch(opts, new ReplayOn401(this, opts, handler, lease, replayable));
  }

  /** The replay's second attempt: same handler, new token already set. */
  resend(opts: Options, handler: ReplayOn401): boolean {
    return this.upstream.dispatch(opts, handler);
  }

  /** Counts an upstream answer and its latency. */
  observeResponse(statusCode: number, startedAt: number, rawHeaders: Buffer[], lease: Lease): void {
    const { metrics } = this.options;
    let counter = this.upstreamCodes.get(statusCode);
    if (!counter) {
      counter = metrics.upstreamResponses.labels(String(statusCode));
      this.upstreamCodes.set(statusCode, counter);
    }
    counter.inc();
    metrics.upstreamDuration.observe((performance.now() - startedAt) / 1000);
    this.rateLimits.observe(statusCode, rawHeaders, lease.slot);
  }

  observeError(): void {
    this.options.metrics.upstreamResponses.inc({ code: 'error' });
  }

  countReplay(result: 'success' | 'unauthorized' | 'not_replayable' | 'no_token'): void {
    this.options.metrics.replays.inc({ result });
  }

  private async prepare(opts: Options, pool: LeasePool, lease: Lease | undefined) {
    let ready = opts;
    let replayable = true;
    if (opts.body instanceof Readable) {
      const length = Number((opts.headers as Record<string, string | undefined>)['content-length']);
      if (Number.isFinite(length) && length <= this.options.replayBodyLimitBytes) {
        ready = { ...opts, body: await readAll(opts.body, length) };
      } else {
        replayable = false;
      }
    } else if (opts.body != null && typeof opts.body !== 'string' && !(opts.body instanceof Uint8Array)) {
      replayable = false; // an iterable or form-data body can be sent once only
    }
    return { opts: ready, lease: lease ?? pool.lease() ?? (await pool.leaseWaiting()), replayable };
  }

  // close/destroy pass through to the upstream pool with every overload undici defines.
  override close(...args: unknown[]): Promise<void> {
    return (this.upstream.close as (...a: unknown[]) => Promise<void>).apply(this.upstream, args);
  }

  override destroy(...args: unknown[]): Promise<void> {
    return (this.upstream.destroy as (...a: unknown[]) => Promise<void>).apply(this.upstream, args);
  }
}

async function readAll(stream: Readable, expected: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  if (size !== expected) throw new Error(`request body was ${size} bytes, Content-Length said ${expected}`);
  return Buffer.concat(chunks, size);
}

/**
 * Handler of one proxied request across at most two attempts. Forwards everything to the client's
 * handler, except a first 401 on a replayable request, which it holds back until the replay's answer
 * (or, if no new token can be had, delivers after all).
 */
class ReplayOn401 implements Handler {
  private startedAt = performance.now();
  private abortAttempt: ((err?: Error) => void) | undefined;
  private aborted = false;
  private connected = false;
  private replayed = false;
  private held: { statusCode: number; rawHeaders: Buffer[]; statusText: string; chunks: Buffer[]; size: number } | undefined;

  constructor(
    private readonly dispatcher: TokenDispatcher,
    private readonly opts: Options,
    private readonly client: Handler,
    private lease: Lease,
    private readonly replayable: boolean,
  ) {}

  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    this.abortAttempt = abort;
    if (this.connected) return;
    this.connected = true;
    (this.client.onConnect as (abort: (err?: Error) => void, context?: unknown) => void)?.((err) => {
      this.aborted = true;
      this.abortAttempt?.(err);
    }, context);
  }

  onResponseStarted(): void {
    if (!this.held) this.client.onResponseStarted?.();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return this.client.onHeaders?.(statusCode, rawHeaders, resume, statusText) ?? true;
    this.dispatcher.observeResponse(statusCode, this.startedAt, rawHeaders, this.lease);
    if (statusCode === 401 && !this.replayed) {
      if (this.replayable) {
        this.held = { statusCode, rawHeaders, statusText, chunks: [], size: 0 };
        return true;
      }
      this.dispatcher.countReplay('not_replayable');
      this.lease.slot.onUnauthorized(this.lease.token).catch(() => {});
    } else if (this.replayed) {
      this.dispatcher.countReplay(statusCode === 401 ? 'unauthorized' : 'success');
    }
    return this.client.onHeaders?.(statusCode, rawHeaders, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    if (this.held) {
      if (this.held.size < MAX_HELD_401_BYTES) {
        this.held.chunks.push(chunk);
        this.held.size += chunk.length;
      }
      return true;
    }
    return this.client.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    if (this.held) {
      this.replay();
      return;
    }
    this.client.onComplete?.(trailers);
  }

  onError(err: Error): void {
    if (!this.held) this.dispatcher.observeError();
    this.held = undefined;
    this.client.onError?.(err);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: import('node:stream').Duplex): void {
    this.client.onUpgrade?.(statusCode, headers, socket);
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.client.onBodySent?.(chunkSize, totalBytesSent);
  }

  private replay(): void {
    const held = this.held!;
    this.replayed = true;
    this.lease.slot.onUnauthorized(this.lease.token).then(
      (lease) => {
        this.held = undefined;
        if (this.aborted) return;
        this.lease = lease;
        this.startedAt = performance.now();
        const headers = { ...(this.opts.headers as Record<string, string>), [lease.header]: lease.value };
        this.dispatcher.resend({ ...this.opts, headers }, this);
      },
      () => {
        // No new token: the client gets the upstream's own 401, unchanged.
        this.held = undefined;
        this.dispatcher.countReplay('no_token');
        if (this.aborted) return;
        this.client.onHeaders?.(held.statusCode, held.rawHeaders, () => {}, held.statusText);
        for (const chunk of held.chunks) this.client.onData?.(chunk);
        this.client.onComplete?.(null);
      },
    );
  }
}
