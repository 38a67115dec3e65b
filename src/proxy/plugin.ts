import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { Config } from '../config/types.js';
import { SidecarError } from '../errors.js';
import { INBOUND_KEY_HEADER, matchesInboundKey } from '../http/inbound-key.js';
import { sendError } from '../http/send-error.js';
import type { LeasePool } from '../pool/lease.js';
import { carryPool } from './token-interceptor.js';
import type { RequestGate } from './request-gate.js';
import { carryTiming, microsecondsSince, RequestTiming } from './server-timing.js';

/** Picks the credential profile (and so the token) of one request; stripped before forwarding. */
export const PROFILE_HEADER = 'x-token-profile';

/**
 * Request headers that never go upstream: hop-by-hop (RFC 9110 §7.6.1), the client's own
 * credentials (the token interceptor sets the sidecar's), and the sidecar's own headers. Each profile
 * adds the header its token is injected in (INJECT_HEADER), so a client's own copy never reaches the upstream.
 */
const STRIPPED_REQUEST_HEADERS = ['authorization', INBOUND_KEY_HEADER, PROFILE_HEADER, 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'upgrade'];
/** Response headers that are about the upstream connection, not the response (hop-by-hop). */
const STRIPPED_RESPONSE_HEADERS = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'trailer', 'transfer-encoding', 'upgrade'];

export interface ProxyPluginOptions {
  readonly config: Config;
  /** The token pool of a configured profile. */
  readonly poolOf: (profile: string) => LeasePool | undefined;
  /** The upstream connection pool with the token interceptor composed in (token-interceptor.ts). */
  readonly dispatcher: Dispatcher;
  /** The run's brakes (MAX_REQUESTS, halt, TEST_WINDOW); absent: none. */
  readonly gate?: RequestGate;
}

/** Where one profile's requests go: its token pool, its upstream, and the request headers it drops. */
interface ProfileRoute {
  readonly pool: LeasePool;
  readonly upstream: string;
  readonly stripped: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's profile, chosen once by the proxy's preHandler (null until then; only the proxy app decorates requests with it). */
    tokenRoute: ProfileRoute | null;
    /** Set when the upstream's answer is being relayed; false means the sidecar answers itself (token_sidecar_client_responses_total's `origin`). */
    answeredByUpstream: boolean;
    /** Server-Timing: where the request's time goes, from the preHandler on (null until then). */
    timing: RequestTiming | null;
  }
}

/**
 * Every path, every method, forwarded to the profile's configured upstream through the token
 * interceptor. Before a request is proxied: the inbound key (when configured), the profile, and a
 * valid token are checked, so a client gets a clear 4xx/503 before its body is read. The profile is
 * looked up here, once; the pool goes to the interceptor with the dispatch headers (carryPool).
 */
export async function proxyPlugin(app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  const { config, poolOf, dispatcher, gate } = opts;
  const inboundKey = config.inboundApiKey ? Buffer.from(config.inboundApiKey) : undefined;
  const routes = new Map<string, ProfileRoute>();
  for (const profile of config.profiles) {
    const pool = poolOf(profile.name);
    if (!pool) throw new Error(`no token pool for profile "${profile.name}"`);
    const stripped = STRIPPED_REQUEST_HEADERS.includes(profile.injectHeader) ? STRIPPED_REQUEST_HEADERS : [...STRIPPED_REQUEST_HEADERS, profile.injectHeader];
    routes.set(profile.name, { pool, upstream: profile.upstreamUrl, stripped });
  }
  const defaultRoute = routes.get(config.defaultProfile)!;
  app.decorateRequest('tokenRoute', null);
  app.decorateRequest('answeredByUpstream', false);
  app.decorateRequest('timing', null);

  /**
   * preHandler: inbound key, profile, the run's brakes, and a valid token. Callback style with a
   * synchronous fast path, so a request in steady state creates no promise here.
   */
  function ensureToken(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    if (inboundKey && !matchesInboundKey(request.headers[INBOUND_KEY_HEADER], inboundKey)) {
      sendError(reply, new SidecarError('inboundKeyRequired', `send the sidecar's inbound key in the ${INBOUND_KEY_HEADER} header`));
      return;
    }
    const profile = request.headers[PROFILE_HEADER];
    const route = profile === undefined ? defaultRoute : routes.get(profile as string);
    if (!route) {
      sendError(reply, new SidecarError('unknownProfile', `unknown token profile "${profile}"; configured: ${[...routes.keys()].join(', ')}`));
      return;
    }
    request.tokenRoute = route;
    request.timing = new RequestTiming(performance.now());
    const refusal = gate === undefined ? null : gate.admit();
    if (refusal === null) return withToken(request, reply, route, done);
    if (!(refusal instanceof Promise)) return void sendError(reply, refusal);
    refusal.then(
      (late) => (late === null ? withToken(request, reply, route, done) : void sendError(reply, late)),
      (err: unknown) => void sendError(reply, err),
    );
  }

  /** The last step of the preHandler: a request waits here (once) when its profile holds no valid token yet. */
  function withToken(request: FastifyRequest, reply: FastifyReply, route: ProfileRoute, done: (err?: Error) => void): void {
    if (route.pool.ready) return done();
    const timing = request.timing!;
    const waitedAt = performance.now();
    route.pool.leaseWaiting().then(
      () => {
        timing.tokenUs += microsecondsSince(waitedAt);
        done();
      },
      (err: unknown) => void sendError(reply, err),
    );
  }

  // One upstream for every profile (the usual case): reply-from's fixed base, which it resolves once.
  // Several: chosen per request among the configured ones only.
  const singleUpstream = new Set(config.profiles.map((p) => p.upstreamUrl)).size === 1;
  const proxyOptions: FastifyHttpProxyOptions = {
    upstream: singleUpstream ? defaultRoute.upstream : '',
    undici: dispatcher,
    preHandler: ensureToken,
    httpMethods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    disableRequestLogging: true,
    replyOptions: {
      ...(singleUpstream ? {} : { getUpstream: (request) => request.tokenRoute!.upstream }),
      rewriteRequestHeaders: (request, headers) => {
        unsetHeaders(headers, request.tokenRoute!.stripped);
        carryTiming(headers, request.timing!);
        return carryPool(headers, request.tokenRoute!.pool);
      },
      rewriteHeaders: (headers: IncomingHttpHeaders, request) => {
        // reply-from always passes the request (its types leave it optional).
        if (request) request.answeredByUpstream = true;
        return withoutHeaders(headers, STRIPPED_RESPONSE_HEADERS);
      },
      // No hidden retries: an upstream 503 reaches the client as it was (README "What it guarantees" 1).
      retryDelay: () => null,
      onError: (reply, { error }) => void sendError(reply, error),
    },
  };
  await app.register(httpProxy, proxyOptions);
}

/**
 * Request headers: sets the named ones that are present to undefined, which undici leaves out of the
 * request it writes. Not `delete`: deleting turns the object into a slow dictionary for everything
 * that reads it afterwards (reply-from copies it, undici walks it), and a client's own
 * `authorization`, which most load tools send, would cost that on every request.
 */
function unsetHeaders(headers: IncomingHttpHeaders, names: readonly string[]): void {
  for (const name of names) if (headers[name] !== undefined) headers[name] = undefined;
}

/**
 * Response headers: the same object when none of the named headers is present, else a copy without
 * them. reply-from copies every key to the reply (an undefined value would be written), so they
 * must go; a copy keeps the object fast where `delete` would make it a dictionary, and most upstream
 * answers carry `connection` and `keep-alive`.
 */
function withoutHeaders(headers: IncomingHttpHeaders, names: readonly string[]): IncomingHttpHeaders {
  let present = false;
  for (const name of names) {
    if (headers[name] !== undefined) {
      present = true;
      break;
    }
  }
  if (!present) return headers;
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) if (!names.includes(name)) kept[name] = headers[name];
  return kept;
}
