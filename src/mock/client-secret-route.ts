import type { FastifyInstance } from 'fastify';
import type { MockOptions } from './options.js';

/**
 * POST /__client-secret `{"secret": "…"}`: the token endpoint accepts this secret from now on and
 * refuses the previous one (401 invalid_client), as a provider does once a client secret is rotated.
 * For tests of a sidecar whose secret file is replaced while it runs. Unauthenticated, like the
 * other /__ routes: the mock is a rehearsal server on loopback.
 */
export function registerClientSecretRoute(app: FastifyInstance, options: MockOptions): void {
  app.post('/__client-secret', async (request, reply) => {
    const secret = (request.body as { secret?: unknown } | undefined)?.secret;
    if (typeof secret !== 'string' || secret === '') {
      return reply.code(400).send({ error: 'bad_request', message: 'body must be {"secret": "<non-empty string>"}' });
    }
    options.clientSecret = secret;
    return reply.code(204).send();
  });
}
