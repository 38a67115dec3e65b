import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { eventually, startOAuthSidecar } from '../helpers/oauth-sidecar.js';
import { CLIENTS, FORBIDDEN_SCOPE, RESOURCE, SCOPE, startProvider, startVerifyingUpstream } from '../helpers/oidc-provider.js';

// What a user sees when the provider refuses the token request: a 503 whose cause is the provider's
// own OAuth error (not a guess of ours), and /readyz saying the same. The provider here is a real
// one (oidc-provider), so the error codes are what such a server really answers.

const provider = await startProvider();
const upstream = await startVerifyingUpstream(provider);

const base = { TOKEN_URL: provider.tokenUrl, UPSTREAM_URL: upstream.url, OAUTH_SCOPE: SCOPE, OAUTH_RESOURCE: RESOURCE };
const cases = [
  {
    wrong: 'a scope the client may not ask for',
    env: { ...base, OAUTH_CLIENT_ID: CLIENTS.basic.id, OAUTH_CLIENT_SECRET: CLIENTS.basic.secret, OAUTH_SCOPE: `${SCOPE} ${FORBIDDEN_SCOPE}` },
    files: {},
    error: 'invalid_scope',
    status: 400,
  },
  {
    wrong: 'an audience (resource) the provider does not serve',
    env: { ...base, OAUTH_CLIENT_ID: CLIENTS.post.id, OAUTH_CLIENT_SECRET: CLIENTS.post.secret, OAUTH_TOKEN_AUTH: 'client_secret_post', OAUTH_RESOURCE: 'https://elsewhere.example/' },
    files: {},
    error: 'invalid_target',
    status: 400,
  },
  {
    wrong: 'a private key the provider does not know',
    env: { ...base, OAUTH_CLIENT_ID: CLIENTS.jwt.id, OAUTH_TOKEN_AUTH: 'private_key_jwt', OAUTH_PRIVATE_KEY_FILE: '/keys/stranger.pem', OAUTH_KEY_ID: 'client-key-1' },
    files: () => ({ '/keys/stranger.pem': provider.strangerKeyPem }),
    error: 'invalid_client',
    status: 401,
  },
  {
    wrong: 'a jwt_bearer assertion signed with a key the client did not register',
    env: {
      ...base, OAUTH_GRANT: 'jwt_bearer', OAUTH_CLIENT_ID: CLIENTS.bearer.id, OAUTH_CLIENT_SECRET: CLIENTS.bearer.secret,
      OAUTH_PRIVATE_KEY_FILE: '/keys/stranger.pem', OAUTH_KEY_ID: 'client-key-1',
    },
    files: () => ({ '/keys/stranger.pem': provider.strangerKeyPem }),
    error: 'invalid_grant',
    status: 400,
  },
  {
    wrong: 'a wrong client secret',
    env: { ...base, OAUTH_CLIENT_ID: CLIENTS.basic.id, OAUTH_CLIENT_SECRET: 'not-the-secret' },
    files: {},
    error: 'invalid_client',
    status: 401,
  },
];

describe('the provider refuses the token request', () => {
  for (const { wrong, env, files, error, status } of cases) {
    it(`${wrong}: 503 naming ${error}, and /readyz says the same`, async () => {
      const before = upstream.answered.get(200) ?? 0;
      const { proxyUrl, adminUrl } = await startOAuthSidecar(env, { files: typeof files === 'function' ? files() : files });

      const ready = await eventually(async () => {
        const response = await request(`${adminUrl}/readyz`);
        const body = (await response.body.json()) as { ready: boolean; reasons: string[] };
        return body.reasons.some((reason) => reason.includes('error=')) ? { status: response.statusCode, body } : undefined;
      }, '/readyz names the OAuth error');
      assert.equal(ready.status, 503);
      assert.equal(ready.body.ready, false);
      assert.match(ready.body.reasons[0]!, new RegExp(`HTTP ${status} error=${error}\\b`));
      assert.match(ready.body.reasons[0]!, /description="/, 'the provider\'s error_description is kept');

      const response = await request(`${proxyUrl}/api/things`);
      const body = (await response.body.json()) as { error: string; cause: string };
      assert.equal(response.statusCode, 503);
      assert.equal(body.error, 'token_unavailable');
      assert.match(body.cause, new RegExp(`HTTP ${status} error=${error}\\b`));
      assert.ok(response.headers['retry-after'], 'a Retry-After tells the client when to try again');
      assert.equal(upstream.answered.get(200) ?? 0, before, 'nothing reached the upstream');
    });
  }
});
