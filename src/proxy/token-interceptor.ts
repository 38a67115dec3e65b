import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Lease, LeasePool } from '../pool/lease.js';
import { ReplayHandler, type Dispatch, type DispatchOptions, type Handler, type ResponseMeter } from './replay-handler.js';
import { microsecondsSince, timingOf, type RequestTiming } from './server-timing.js';

/**
 * The key under which a request's dispatch headers carry the pool its token comes from. The proxy
 * plugin chooses the pool once per request (from x-token-profile) and puts it there; reply-from
 * copies the headers object with Object.assign, which keeps symbol keys, and undici writes only
 * string keys to the wire, so the pool rides along and is never sent.
 */
const LEASE_POOL = Symbol('token-sidecar lease pool');

/** Dispatch headers as reply-from passes them: lower-case names, plus the pool. */
type TokenRequestHeaders = Record<string, string | string[] | undefined> & { [LEASE_POOL]?: LeasePool };

/** Puts `pool` on a request's headers for the interceptor; returns the same object. */
export function carryPool<H extends object>(headers: H, pool: LeasePool): H {
  (headers as TokenRequestHeaders)[LEASE_POOL] = pool;
  return headers;
}

export interface TokenInterceptorOptions {
  readonly meter: ResponseMeter;
  /** Request bodies with a Content-Length up to this are buffered so a 401 can be replayed. */
  readonly replayBodyLimitBytes: number;
  /** The run's brakes on replays (RequestGate.mayReplay, MAX_REQUESTS); absent: none. */
  readonly mayReplay?: () => boolean;
  /** Epoch ms (the sidecar's clock), for budget resets sent as epoch seconds; default Date.now. */
  readonly now?: () => number;
}

/**
 * The one place a token is put on a request (README "What it guarantees" 1, 4 and 6), as an undici
 * interceptor: `new Intercepted(agent, tokenInterceptor(options))` is the dispatcher handed to the
 * proxy (`agent.compose(...)` works too, with a handler wrapper per request; see intercepted.ts).
 *
 * Per request: a lease from the pool in the headers (synchronous in steady state: the slot with the
 * most rate budget left), counted against that slot's budget (noteSent); the client's own
 * `authorization` dropped and the lease's header set; the request dispatched with a ReplayHandler,
 * which replays a stale-token 401, or a 429 of the token's own budget, once. When every slot is out
 * of budget the pool's leaseOverBudget decides (hold while it grows, or RATE_LIMIT_POLICY). A body still to be read is buffered first when its
 * Content-Length is within the replay limit; otherwise it streams and cannot be replayed. With no
 * token held, the request waits for one; when none can be had the client's handler gets the
 * pool's SidecarError (reply-from answers it 503 with Retry-After).
 *
 * Calls handlers with the callbacks reply-from's requests and undici's clients speak
 * (onConnect/onHeaders/...), so reply-from's handler and the ReplayHandler pass through undici
 * without conversion. With undici's newer handler API (onRequestStart/onResponseStart/...), undici
 * would convert every response's headers from raw to an object and back: about 3 µs a request.
 */
export function tokenInterceptor(options: TokenInterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const { meter, replayBodyLimitBytes, mayReplay, now = Date.now } = options;

  function send(dispatch: Dispatch, opts: DispatchOptions, handler: Handler, pool: LeasePool, lease: Lease, ticket: number, replayable: boolean, timing: RequestTiming | undefined): boolean {
    const headers = opts.headers as TokenRequestHeaders;
    // Only the sidecar's credentials go upstream (reply-from passes lower-case names).
    if (lease.header !== 'authorization' && headers.authorization !== undefined) headers.authorization = undefined;
    headers[lease.header] = lease.value;
    return dispatch(opts, new ReplayHandler({ dispatch, opts, handler, lease, ticket, pool, replayable, meter, timing, mayReplay, now }));
  }

  /**
   * The slow path: a token to wait for, a pool out of budget (`overBudget`: RATE_LIMIT_POLICY, or a
   * hold while the pool grows), or a body to read before it can be sent.
   */
  async function prepare(opts: DispatchOptions, pool: LeasePool, lease: Lease | undefined, overBudget: boolean, timing: RequestTiming | undefined) {
    let ready = opts;
    let replayable = true;
    const { body } = opts;
    if (body instanceof Readable) {
      const length = Number((opts.headers as TokenRequestHeaders)['content-length']);
      if (Number.isFinite(length) && length <= replayBodyLimitBytes) ready = { ...opts, body: await readAll(body, length) };
      else replayable = false;
    } else if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      replayable = false; // an iterable or form-data body can be sent once only
    }
    // Server-Timing: a hold for rate budget is the `budget` part, a wait for a token the `token` part.
    if (overBudget) {
      const heldAt = performance.now();
      const sent = await pool.leaseOverBudget();
      if (timing !== undefined) timing.budgetUs += microsecondsSince(heldAt);
      return { opts: ready, replayable, ...sent };
    }
    let chosen = lease ?? pool.leaseAgain();
    if (chosen === undefined) {
      const waitedAt = performance.now();
      chosen = await pool.leaseWaiting();
      if (timing !== undefined) timing.tokenUs += microsecondsSince(waitedAt);
    }
    return { opts: ready, replayable, lease: chosen, ticket: chosen.slot.noteSent() };
  }

  return (dispatch) =>
    function injectToken(opts, handler) {
      const pool = (opts.headers as TokenRequestHeaders | null | undefined)?.[LEASE_POOL];
      if (!pool) {
        handler.onError?.(new Error('no token pool was chosen for this request'));
        return true;
      }
      const timing = timingOf(opts.headers);
      const lease = pool.lease();
      const overBudget = lease !== undefined && pool.outOfBudget;
      const { body } = opts;
      if (lease && !overBudget && (body == null || typeof body === 'string' || body instanceof Uint8Array)) {
        return send(dispatch, opts, handler, pool, lease, lease.slot.noteSent(), true, timing);
      }
      prepare(opts, pool, lease, overBudget, timing).then(
        (ready) => send(dispatch, ready.opts, handler, pool, ready.lease, ready.ticket, ready.replayable, timing),
        (err: Error) => handler.onError?.(err),
      );
      return true;
    };
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
