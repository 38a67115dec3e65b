/**
 * Every error the sidecar itself answers a client with. One stable `code` each, a status and a
 * message a person can act on; README's error table lists these. Bodies never carry a secret.
 *
 * Upstream answers (401 after a replay, 429, 5xx) are passed through unchanged and are not here.
 * `sidecar_rate_limited` is the sidecar's own 429 (RATE_LIMIT_POLICY=reject), told apart by its code.
 */
export interface SidecarErrorBody {
  error: string;
  message: string;
  cause?: string;
  retryAfterSeconds?: number;
}

export const ErrorCodes = {
  /** No valid token could be obtained (token endpoint down, credentials rejected, rate limited). */
  tokenUnavailable: { code: 'token_unavailable', status: 503 },
  /** INBOUND_API_KEY is set and the request did not carry it in x-sidecar-key. */
  inboundKeyRequired: { code: 'inbound_key_required', status: 401 },
  /** x-token-profile names a profile that is not configured. */
  unknownProfile: { code: 'unknown_profile', status: 400 },
  /**
   * RATE_LIMIT_POLICY=reject: every token of the profile is out of its rate budget and the pool
   * cannot grow; the sidecar answered (with Retry-After) without calling the upstream.
   */
  rateLimited: { code: 'sidecar_rate_limited', status: 429 },
  /** MAX_REQUESTS: the run's cap of requests to the upstream is used up (or its shared count cannot be reached); the upstream was not called. */
  requestCap: { code: 'sidecar_request_cap', status: 429 },
  /** POST /admin/halt on any instance of the fleet: every instance refuses until POST /admin/resume. */
  halted: { code: 'sidecar_halted', status: 503 },
  /**
   * TEST_WINDOW: the request came outside the window. 403, not 503: it is a standing policy, not an
   * outage; a client or proxy that retries 5xx would only hammer until the window opens.
   */
  outsideTestWindow: { code: 'sidecar_outside_test_window', status: 403 },
  /** Admin: a brake (halt, resume, reset of the request count) could not be written to the shared store. */
  storeUnavailable: { code: 'store_unavailable', status: 503 },
  /** The upstream could not be reached or did not answer in time. */
  upstreamUnreachable: { code: 'upstream_unreachable', status: 502 },
  upstreamTimeout: { code: 'upstream_timeout', status: 504 },
  /** Admin: unknown route. */
  notFound: { code: 'not_found', status: 404 },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class SidecarError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryAfterSeconds?: number;
  readonly causeSummary?: string;

  constructor(kind: ErrorCode, message: string, opts: { retryAfterSeconds?: number; cause?: string } = {}) {
    super(message);
    this.name = 'SidecarError';
    this.code = ErrorCodes[kind].code;
    this.status = ErrorCodes[kind].status;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.causeSummary = opts.cause;
  }

  toBody(): SidecarErrorBody {
    const body: SidecarErrorBody = { error: this.code, message: this.message };
    if (this.causeSummary !== undefined) body.cause = this.causeSummary;
    if (this.retryAfterSeconds !== undefined) body.retryAfterSeconds = this.retryAfterSeconds;
    return body;
  }
}
