import type { FastifyReply, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerBase, RouteGenericInterface } from 'fastify';
import { SidecarError } from '../errors.js';

/**
 * Answers a client with one of the sidecar's own errors (src/errors.ts) as JSON. Errors raised by
 * @fastify/reply-from while reaching the upstream are mapped to 502/504; anything unexpected is
 * logged and answered 502 without its message (it might name internals).
 */
export function sendError<Server extends RawServerBase>(reply: AnyReply<Server>, err: unknown): AnyReply<Server> {
  const error = toSidecarError(err);
  if (!(error instanceof SidecarError)) {
    reply.log.error({ err: { message: (err as Error)?.message, code: (err as { code?: string })?.code } }, 'proxy error');
  }
  const known = error instanceof SidecarError ? error : new SidecarError('upstreamUnreachable', 'the upstream could not be reached');
  if (known.retryAfterSeconds !== undefined) reply.header('retry-after', String(known.retryAfterSeconds));
  return reply.code(known.status).header('content-type', 'application/json; charset=utf-8').send(known.toBody());
}

/** A reply of any Fastify server, HTTP/1 or HTTP/2 (reply-from's hooks are typed for both). */
type AnyReply<Server extends RawServerBase> = FastifyReply<RouteGenericInterface, Server, RawRequestDefaultExpression<Server>, RawReplyDefaultExpression<Server>>;

function toSidecarError(err: unknown): SidecarError | unknown {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof SidecarError) return e;
  }
  const code = (err as { code?: string })?.code ?? '';
  const causeCode = ((err as { cause?: { code?: string } })?.cause?.code) ?? '';
  if (code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT' || causeCode === 'UND_ERR_HEADERS_TIMEOUT' || causeCode === 'UND_ERR_BODY_TIMEOUT') {
    return new SidecarError('upstreamTimeout', 'the upstream did not answer in time');
  }
  if (code.startsWith('FST_REPLY_FROM_') || causeCode.startsWith('UND_ERR') || causeCode.startsWith('E')) {
    return new SidecarError('upstreamUnreachable', `the upstream could not be reached (${causeCode || code})`);
  }
  return err;
}
