/**
 * A grant (RFC 6749 §4 and its extensions): the part of a token request that says what is asked
 * for. A grant builds its form fields afresh for every request, reading its secrets at that moment
 * (so a secret that changes is the one sent), and keeps whatever an answer teaches it (a rotated
 * refresh token). It knows nothing of HTTP, client authentication, retries or caching: the token
 * endpoint client (../endpoint.ts) adds the client's proof and sends it, and EndpointTokenSource
 * (lifecycle/endpoint-source.ts) retries.
 *
 * Concurrency: the lifecycle above never makes two requests of one grant at once (the coordinated
 * source and the cache single-flight them), so a grant needs no locking of its own.
 */

/** The grant's part of one token request. */
export interface GrantRequest {
  /** Form fields in order, `grant_type` first. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
  /** Values among the fields that must never be echoed: scrubbed from the endpoint's error text. */
  readonly secrets: readonly string[];
}

/** How the lifecycle calls: `local` means the shared store is unreachable (use what this process knows). */
export interface GrantCall {
  readonly local: boolean;
}

export interface Grant {
  /** The fields of the next token request. May throw a TokenEndpointError ('rejected') when it cannot ask at all. */
  request(call: GrantCall): Promise<GrantRequest>;
  /**
   * A successful answer, before its access token is handed out: `generation` is the token's. A grant
   * that keeps state from answers (refresh-token rotation) keeps it here.
   */
  answered(answer: { readonly refreshToken?: string }, call: GrantCall & { readonly generation: number }): Promise<void>;
}

/**
 * Where a lifecycle keeps its rotating refresh token: the TokenStore (store/store.ts) has this shape.
 * Declared here so the token layer does not import the store.
 */
export interface RefreshTokenStore {
  getRefreshToken(key: string): Promise<string | null>;
  putRefreshToken(key: string, refreshToken: string, generation: number): Promise<boolean>;
}

/** What a grant factory gets besides the profile: the lifecycle's store and its key in it. */
export interface GrantDeps {
  readonly store: RefreshTokenStore;
  readonly key: string;
}

/** Fields in the order given, `grant_type` first. */
export function grantFields(grantType: string, ...fields: ReadonlyArray<readonly [string, string]>): ReadonlyArray<readonly [string, string]> {
  return [['grant_type', grantType], ...fields];
}
