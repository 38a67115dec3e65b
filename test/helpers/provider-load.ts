import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_LATENCY_MS } from './api-latency.js';
import { non2xx, runLoad, startOAuthSidecar } from './oauth-sidecar.js';
import { CLIENTS, RESOURCE, SCOPE, startProvider, startVerifyingUpstream, type TestProvider } from './oidc-provider.js';

/**
 * Each client authentication method, and the JWT bearer grant, against a real authorization server
 * (oidc-provider), under load: 50 clients for 10 s through the sidecar, with JWT access tokens that
 * live 4 s (so the run spans two and a half lifetimes and at least two refreshes), to an upstream
 * that checks every token's signature, audience and scope and answers in API_LATENCY_MS. Not one
 * request may fail, every client averages at least one request a second, and the token endpoint
 * sees one request per token lifetime: at most
 * ceil(run / (lifetime × REFRESH_AT)) + 2 (the first token, and one refresh that may start just
 * before the end). The JWT bearer grant's assertions are checked by the provider against the key the
 * client registered, and every one it accepted names the configured subject.
 *
 * Two methods a file (test/oauth2/provider-load.test.ts, provider-key-load.test.ts): the four runs go
 * two at a time, each file in a process of its own, instead of one after the other (41 s).
 */

const CLIENTS_AT_ONCE = 50;
const TOKEN_TTL_S = 4;
const LOAD_MS = 10_000;
const REFRESH_AT = 0.8;

const BEARER_SUBJECT = 'load-test-user';

/** The methods' sidecar settings and key files, by name. */
const METHODS: Record<string, (provider: TestProvider) => { env: Record<string, string>; files: Record<string, string> }> = {
  client_secret_basic: () => ({ env: { OAUTH_TOKEN_AUTH: 'client_secret_basic', OAUTH_CLIENT_ID: CLIENTS.basic.id, OAUTH_CLIENT_SECRET: CLIENTS.basic.secret }, files: {} }),
  client_secret_post: () => ({ env: { OAUTH_TOKEN_AUTH: 'client_secret_post', OAUTH_CLIENT_ID: CLIENTS.post.id, OAUTH_CLIENT_SECRET: CLIENTS.post.secret }, files: {} }),
  private_key_jwt: (provider) => ({
    env: { OAUTH_TOKEN_AUTH: 'private_key_jwt', OAUTH_CLIENT_ID: CLIENTS.jwt.id, OAUTH_PRIVATE_KEY_FILE: '/keys/client.pem', OAUTH_KEY_ID: 'client-key-1' },
    files: { '/keys/client.pem': provider.clientKeyPem },
  }),
  'jwt_bearer grant': (provider) => ({
    env: {
      OAUTH_GRANT: 'jwt_bearer', OAUTH_CLIENT_ID: CLIENTS.bearer.id, OAUTH_CLIENT_SECRET: CLIENTS.bearer.secret,
      OAUTH_PRIVATE_KEY_FILE: '/keys/client.pem', OAUTH_KEY_ID: 'client-key-1', OAUTH_JWT_SUBJECT: BEARER_SUBJECT,
    },
    files: { '/keys/client.pem': provider.clientKeyPem },
  }),
};

/** The load run of each of `methods`, one after the other, against one provider and upstream of the calling file's own. */
export async function describeProviderLoads(methods: readonly string[]): Promise<void> {
  // Started at the file's top level, so they live (and are closed) with the test file.
  const provider = await startProvider({ tokenTtlS: TOKEN_TTL_S });
  const upstream = await startVerifyingUpstream(provider, { latencyMs: API_LATENCY_MS });
  describe('50 clients for 10 s through the sidecar, tokens living 4 s', () => {
    for (const method of methods) {
      const setup = METHODS[method]!;
      it(`${method}: zero non-2xx, token requests within the bound`, async () => {
        const { env, files } = setup(provider);
        const tokenRequestsBefore = provider.tokenRequests();
        const bearerBefore = provider.bearerSubjects.length;
        const verifiedBefore = upstream.answered.get(200) ?? 0;
        const started = Date.now();
        const { proxyUrl, close } = await startOAuthSidecar({
          ...env,
          TOKEN_URL: provider.tokenUrl,
          UPSTREAM_URL: upstream.url,
          OAUTH_SCOPE: SCOPE,
          OAUTH_RESOURCE: RESOURCE,
          REFRESH_AT: String(REFRESH_AT),
        }, { files });

        const result = await runLoad(`${proxyUrl}/api/things`, CLIENTS_AT_ONCE, LOAD_MS);
        await close();
        const runSeconds = (Date.now() - started) / 1000;
        // A refresh may have reached the provider just as the sidecar closed: count it once answered.
        await provider.settled();
        const tokenRequests = provider.tokenRequests() - tokenRequestsBefore;
        const bound = Math.ceil(runSeconds / (TOKEN_TTL_S * REFRESH_AT)) + 2;
        console.log(`${method}: ${result.requests} requests, ${non2xx(result)} non-2xx, ${tokenRequests} token requests (bound ${bound}, run ${runSeconds.toFixed(1)} s)`);

        assert.ok(result.requests > CLIENTS_AT_ONCE * (LOAD_MS / 1000), `only ${result.requests} requests`);
        assert.equal(non2xx(result), 0, `non-2xx answers: ${result.samples.join(' | ')}`);
        assert.equal((upstream.answered.get(200) ?? 0) - verifiedBefore, result.requests, 'every request reached the upstream with a verified token');
        assert.ok(tokenRequests >= Math.floor(LOAD_MS / 1000 / TOKEN_TTL_S), `${tokenRequests} token requests: tokens were not renewed`);
        assert.ok(tokenRequests <= bound, `${tokenRequests} token requests, bound ${bound}`);
        const subjects = provider.bearerSubjects.slice(bearerBefore);
        if ('OAUTH_GRANT' in env) {
          assert.equal(subjects.length, tokenRequests, 'the provider checked the assertion of every token request');
          assert.ok(subjects.every((subject) => subject === BEARER_SUBJECT), `subjects: ${subjects.join(', ')}`);
        } else {
          assert.equal(subjects.length, 0);
        }
      });
    }
  });
}
