/**
 * The error bodies the mock answers with, in the two shapes Genesys uses (docs/genesys.md §6):
 * the Platform API's `ErrorBody` for /api/v2 routes, and the OAuth shape for /oauth/token.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { GenesysLimit } from './genesys-limits.js';

/** Response header Genesys sets on every API answer; its value is repeated as `contextId`. */
export const CORRELATION_HEADER = 'ININ-Correlation-Id';

export const newCorrelationId: () => string = randomUUID;

/** Platform API error body (docs/genesys.md §6), trimmed to the fields Genesys fills on these errors. */
export interface ErrorBody {
  message: string;
  code: string;
  status: number;
  contextId: string;
  details: [];
  errors: [];
  /** The limit a 429 hit; only with --limit-in-429 (rate-limits.ts), as Genesys is not known to fill it. */
  limit?: GenesysLimit;
}

function errorBody(status: number, code: string, message: string, contextId: string): ErrorBody {
  return { message, code, status, contextId, details: [], errors: [] };
}

/** 401 when the Authorization header carries no bearer token (docs/genesys.md §6, 401 codes). */
export function authenticationRequired(contextId: string): ErrorBody {
  return errorBody(401, 'authentication.required', 'No authentication bearer token specified in authorization header.', contextId);
}

/**
 * 401 for an unknown, expired or revoked bearer token. Which code Genesys uses for expired tokens is
 * unconfirmed; `bad.credentials` is the one seen in practice (docs/genesys.md §6, mock recommendation).
 */
export function badCredentials(contextId: string): ErrorBody {
  return errorBody(401, 'bad.credentials', 'Invalid login credentials.', contextId);
}

/** 400 for a client-credentials token on a user-only resource such as /users/me (docs/genesys.md §4). */
export function userContextRequired(contextId: string): ErrorBody {
  return errorBody(
    400,
    'bad.request',
    'This request requires a user context. Client credentials cannot be used for requests to this resource.',
    contextId,
  );
}

/**
 * 403 for a caller without a permission the resource needs (docs/genesys.md §6). The message lists
 * the permissions, as Genesys's does.
 */
export function missingPermissions(permissions: readonly string[], contextId: string): ErrorBody {
  return errorBody(
    403,
    'missing.permissions',
    `Unable to perform the requested action. You are missing the following permission(s): [${permissions.join(', ')}]`,
    contextId,
  );
}

export function notFound(contextId: string): ErrorBody {
  return errorBody(404, 'not.found', 'The requested resource was not found.', contextId);
}

export function badRequest(message: string, contextId: string): ErrorBody {
  return errorBody(400, 'bad.request', message, contextId);
}

/** The normalized Platform API 429 body, exactly as docs/genesys.md §5 shows it. */
export function tooManyRequests(retryAfterSeconds: number, contextId: string): ErrorBody {
  return errorBody(
    429,
    'too.many.requests.retry.after',
    `Rate limit exceeded the maximum. Retry the request in [${retryAfterSeconds}] seconds`,
    contextId,
  );
}

/** Codes from docs/genesys.md §6 for the statuses an injected failure is most likely to use. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad.request',
  401: 'bad.credentials',
  403: 'not.authorized',
  404: 'not.found',
  415: 'unsupported.media.type',
  429: 'too.many.requests.retry.after',
  503: 'service.unavailable',
  504: 'request.timeout',
};

/** Body of a failure injected by --fail-*-every / --fail-*-window. */
export function injectedFailure(status: number, contextId: string): ErrorBody {
  const reason = STATUS_CODES[status] ?? 'Error';
  return errorBody(status, CODE_BY_STATUS[status] ?? 'mock.injected.failure', `${reason} (injected by the mock)`, contextId);
}

/** OAuth error codes the token endpoint answers with (RFC 6749 §5.2). */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type';

/**
 * The token endpoint's error shape (docs/genesys.md §6): Genesys sends `description` and repeats it in the
 * RFC 6749 field `error_description`.
 */
export interface OAuthErrorBody {
  error: OAuthErrorCode;
  description: string;
  error_description: string;
}

export function oauthError(error: OAuthErrorCode, description: string): OAuthErrorBody {
  return { error, description, error_description: description };
}
