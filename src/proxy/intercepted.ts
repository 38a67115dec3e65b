import { Dispatcher } from 'undici';

/**
 * A dispatcher with one interceptor in front: what undici's `dispatcher.compose(interceptor)` does,
 * minus the wrapper compose puts around every request's handler (and the Proxy it returns) so that
 * an interceptor may use undici's newer handler API. The token interceptor calls the handler
 * callbacks that @fastify/reply-from's requests and undici's clients both speak, so that wrapper
 * would be one more object and one more call per callback on every request, for nothing.
 *
 * close and destroy go to the wrapped dispatcher.
 */
export class Intercepted extends Dispatcher {
  override readonly dispatch: Dispatcher['dispatch'];

  constructor(
    private readonly inner: Dispatcher,
    interceptor: Dispatcher.DispatcherComposeInterceptor,
  ) {
    super();
    this.dispatch = interceptor(inner.dispatch.bind(inner));
  }

  // Every overload undici declares (callback or promise), passed through as called.
  override close(...args: unknown[]): Promise<void> {
    return (this.inner.close as (...a: unknown[]) => Promise<void>).apply(this.inner, args);
  }

  override destroy(...args: unknown[]): Promise<void> {
    return (this.inner.destroy as (...a: unknown[]) => Promise<void>).apply(this.inner, args);
  }
}
