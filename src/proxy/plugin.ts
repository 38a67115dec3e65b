import httpProxy from '@fastify/http-proxy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/types.js';
import { SidecarError } from '../errors.js';
import type { TokenProfiles } from '../lifecycle/profiles.js';
import { INBOUND_KEY_HEADER, matchesInboundKey } from './inbound-key.js';
import { sendError } from './send-error.js';
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

  async function ensureToken(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (inboundKey && !matchesInboundKey(request.headers[INBOUND_KEY_HEADER], inboundKey)) {
      return sendError(reply, new SidecarError('inboundKeyRequired', `send the sidecar's inbound key in the ${INBOUND_KEY_HEADER} header`));
    }
    const profile = request.headers[PROFILE_HEADER] as string | undefined;
    const pool = profiles.pool(profile);
    if (!pool) {
      return sendError(reply, new SidecarError('unknownProfile', `unknown token profile "${profile}"; configured: ${[...upstreamOf.keys()].join(', ')}`));
    }
    if (pool.ready) return;
    try {
      await pool.leaseWaiting();
    } catch (err) {
      return sendError(reply, err);
    }
  }

  await app.register(httpProxy, {
    // The origin is chosen per request by getUpstream, among configured upstreams only.
    upstream: '',
    undici: dispatcher as never,
    preHandler: ensureToken,
    httpMethods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    disableRequestLogging: true,
    replyOptions: {
      getUpstream: (request: FastifyRequest) => upstreamOf.get(request.headers[PROFILE_HEADER] as string) ?? defaultUpstream,
      rewriteRequestHeaders: (_request: FastifyRequest, headers: IncomingHttpHeaders) => {
        for (const name of STRIPPED_REQUEST_HEADERS) delete headers[name];
        return headers;
      },
      rewriteHeaders: (headers: IncomingHttpHeaders) => {
        for (const name of STRIPPED_RESPONSE_HEADERS) delete headers[name];
        return headers;
      },
      // No hidden retries: an upstream 503 reaches the client as it was (contract guarantee 1).
      retryDelay: () => null,
      onError: (reply: FastifyReply, { error }: { error: unknown }) => sendError(reply, error),
    },
  } as never);
}
