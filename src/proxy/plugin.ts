import httpProxy from '@fastify/http-proxy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/types.js';
import { SidecarError } from '../errors.js';
import type { TokenProfiles } from '../lifecycle/profiles.js';
import { INBOUND_KEY_HEADER, matchesInboundKey } from '../http/inbound-key.js';
import { sendError } from '../http/send-error.js';
import { PROFILE_HEADER, type TokenDispatcher } from './token-dispatcher.js';

/** Request headers that never go upstream: hop-by-hop (RFC 9110 §7.6.1) and the client's own credentials. */
const STRIPPED_REQUEST_HEADERS = ['authorization', INBOUND_KEY_HEADER, 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'upgrade'];
/** Response headers that are about the upstream connection, not the response (hop-by-hop). */
const STRIPPED_RESPONSE_HEADERS = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'trailer', 'transfer-encoding', 'upgrade'];

export interface ProxyPluginOptions {
  readonly config: Config;
  readonly profiles: TokenProfiles;
  readonly dispatcher: TokenDispatcher;
}

/**
 * Every path, every method, forwarded to the profile's configured upstream through the
 * token-injecting dispatcher. Before a request is proxied: the inbound key (when configured), the
 * profile, and a valid token are checked, so a client gets a clear 4xx/503 before its body is read.
 */
export async function proxyPlugin(app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  const { config, profiles, dispatcher } = opts;
  const inboundKey = config.inboundApiKey ? Buffer.from(config.inboundApiKey) : undefined;
  const upstreamOf = new Map(config.profiles.map((p) => [p.name, p.upstreamUrl]));
  const defaultUpstream = upstreamOf.get(config.defaultProfile)!;

  /**
   * preHandler: inbound key, profile, and a valid token. Callback style with a synchronous fast
   * path, so a request in steady state creates no promise here.
   */
  function ensureToken(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    if (inboundKey && !matchesInboundKey(request.headers[INBOUND_KEY_HEADER], inboundKey)) {
      sendError(reply, new SidecarError('inboundKeyRequired', `send the sidecar's inbound key in the ${INBOUND_KEY_HEADER} header`));
      return;
    }
    const profile = request.headers[PROFILE_HEADER] as string | undefined;
    const pool = profiles.pool(profile);
    if (!pool) {
      sendError(reply, new SidecarError('unknownProfile', `unknown token profile "${profile}"; configured: ${[...upstreamOf.keys()].join(', ')}`));
      return;
    }
    if (pool.ready) return done();
    pool.leaseWaiting().then(
      () => done(),
      (err: unknown) => void sendError(reply, err),
    );
  }

  // One upstream for every profile (the usual case): reply-from's fixed base, which it resolves once.
  // Several: chosen per request among the configured ones only.
  const singleUpstream = new Set(upstreamOf.values()).size === 1;
  await app.register(httpProxy, {
    upstream: singleUpstream ? defaultUpstream : '',
    undici: dispatcher as never,
    preHandler: ensureToken,
    httpMethods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    disableRequestLogging: true,
    replyOptions: {
      ...(singleUpstream
        ? {}
        : { getUpstream: (request: FastifyRequest) => upstreamOf.get(request.headers[PROFILE_HEADER] as string) ?? defaultUpstream }),
      rewriteRequestHeaders: (_request: FastifyRequest, headers: IncomingHttpHeaders) => stripHeaders(headers, STRIPPED_REQUEST_HEADERS),
      rewriteHeaders: (headers: IncomingHttpHeaders) => stripHeaders(headers, STRIPPED_RESPONSE_HEADERS),
      // No hidden retries: an upstream 503 reaches the client as it was (contract guarantee 1).
      retryDelay: () => null,
      onError: (reply: FastifyReply, { error }: { error: unknown }) => sendError(reply, error),
    },
  } as never);
}

/**
 * Removes the named headers. `delete` only when present: deleting turns the object into a slow
 * dictionary for everything that reads it afterwards, and these headers are absent from most traffic.
 */
function stripHeaders(headers: IncomingHttpHeaders, names: readonly string[]): IncomingHttpHeaders {
  for (const name of names) if (headers[name] !== undefined) delete headers[name];
  return headers;
}
