import type { Token } from './token.js';

/**
 * Something you ask for a token: the one interface of the token lifecycle, in the spirit of
 * golang/oauth2's `TokenSource`. The lifecycle is built of wrappers that take a source and are one
 * (lifecycle/): the endpoint source at the bottom, the fleet-wide coordinated source around it, the
 * refresh-ahead cache around that; the composition root stacks them.
 *
 * A source may be called concurrently; whether concurrent calls share one fetch is the wrapper's
 * business and says so in its doc comment. It rejects when no token can be had (a
 * TokenEndpointError from the endpoint, a SidecarError from the cache).
 */
export interface TokenSource {
  token(request: TokenRequest): Promise<Token>;
}

export interface TokenRequest {
  /**
   * The generation the caller already has or saw rejected (0: none): the token returned is newer.
   * A source that stamps generations itself (the endpoint) gives its token `after + 1`.
   */
  readonly after: number;
  /**
   * The shared store is out of reach: the source must not depend on it, and the token it returns
   * is marked `local` (its generation means nothing to other instances).
   */
  readonly local?: boolean;
  /**
   * The caller still holds a fresh token until this time (a refresh ahead of expiry): a source that
   * cannot reach the shared store may wait for it until shortly before then, instead of fetching a
   * token of its own at once. Unset: the caller has nothing to serve meanwhile.
   */
  readonly heldFreshUntil?: number;
}

/**
 * A source whose tokens are shared with other instances (the fleet, through a store): it tells of
 * tokens obtained or rejected anywhere, and takes word of a token the upstream rejected.
 */
export interface SharedTokenSource extends TokenSource {
  /**
   * The upstream rejected `token`: withdraw it everywhere, only if it is still the current one
   * (compare-and-set), so a late report on an old token never removes its successor. Never rejects.
   */
  invalidate(token: Token): Promise<void>;
  /** Hears tokens stored and invalidated by any instance (this one included). Returns a remover. */
  watch(listener: (event: SharedTokenEvent) => void): () => void;
}

export type SharedTokenEvent =
  | { readonly type: 'stored'; readonly token: Token }
  | { readonly type: 'invalidated'; readonly generation: number };
