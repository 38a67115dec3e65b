import { safeError, scrubText } from './redact.js';

/**
 * What pino applies by field name or to a log call's arguments, fastify's own lines included: the
 * serializers (`err`, `error` and `cause` through redact.ts's `safeError`; `req` as method and path
 * only) and the scrubbing of a call's message.
 */

/** A request as logged: method and path; never the query string (it may carry a credential) or headers. */
export function safeRequest(req: unknown): unknown {
  if (req === null || typeof req !== 'object') return req;
  const r = req as { method?: unknown; url?: unknown; ip?: unknown };
  return {
    method: r.method,
    url: typeof r.url === 'string' ? r.url.split('?')[0] : undefined,
    ...(typeof r.ip === 'string' ? { remoteAddress: r.ip } : {}),
  };
}

/**
 * The message of a log call, scrubbed. An Error given as the first argument becomes `{ err }` plus
 * its scrubbed message (what pino would log, minus credential-looking text).
 */
export function scrubArgs(args: unknown[]): unknown[] {
  if (args[0] instanceof Error) {
    const err = args[0];
    args = typeof args[1] === 'string' ? [{ err }, ...args.slice(1)] : [{ err }, err.message, ...args.slice(1)];
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'string') args[i] = scrubText(arg);
  }
  return args;
}

/** pino's serializers, by field name. */
export const SERIALIZERS = { err: safeError, error: safeError, cause: safeError, req: safeRequest };
