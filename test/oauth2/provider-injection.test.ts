import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { eventually, startOAuthSidecar } from '../helpers/oauth-sidecar.js';
import { CLIENTS, RESOURCE, SCOPE, startProvider, startVerifyingUpstream } from '../helpers/oidc-provider.js';

// Where the token goes (a header other than Authorization, without prefix), and what never reaches
// a log line even at trace level: private keys, client assertions, client secrets, access tokens.

const provider = await startProvider();

describe('the token in x-api-key without a prefix', () => {
  it('reaches the upstream as the bare token in x-api-key; the client\'s own x-api-key and Authorization do not', async () => {
    const upstream = await startVerifyingUpstream(provider, { header: 'x-api-key', prefix: '', forbiddenHeaders: ['authorization'] });
    const { proxyUrl } = await startOAuthSidecar({
      TOKEN_URL: provider.tokenUrl,
      UPSTREAM_URL: upstream.url,
      OAUTH_CLIENT_ID: CLIENTS.basic.id,
      OAUTH_CLIENT_SECRET: CLIENTS.basic.secret,
      OAUTH_SCOPE: SCOPE,
      OAUTH_RESOURCE: RESOURCE,
      INJECT_HEADER: 'X-Api-Key',
      INJECT_PREFIX: '',
    });

    for (let i = 0; i < 5; i++) {
      const response = await request(`${proxyUrl}/api/things`, {
        headers: { 'x-api-key': 'the-client-own-key', authorization: 'Bearer the-client-own-token' },
      });
      await response.body.text();
      assert.equal(response.statusCode, 200);
    }
    assert.equal(upstream.answered.get(200), 5);
    assert.deepEqual(upstream.leaked, [], 'the client\'s Authorization header was stripped');
    for (const value of upstream.seen) {
      assert.ok(provider.issued.includes(value), 'the upstream saw exactly an issued token, no prefix, not the client\'s key');
    }
  });
});

describe('logs at trace level', () => {
  it('never carry a private key, a client assertion, a client secret or an access token', async () => {
    const upstream = await startVerifyingUpstream(provider);
    let logs = '';
    const endpoints = { tokenUrl: provider.tokenUrl, upstream: upstream.url, scope: SCOPE, resource: [RESOURCE] };
    const profiles = {
      profiles: {
        jwt: { ...endpoints, tokenAuth: 'private_key_jwt', clientId: CLIENTS.jwt.id, privateKeyFile: 'client.jwk' },
        post: { ...endpoints, tokenAuth: 'client_secret_post', clientId: CLIENTS.post.id, clientSecret: CLIENTS.post.secret },
        basic: { ...endpoints, clientId: CLIENTS.basic.id, clientSecret: CLIENTS.basic.secret },
        stranger: { ...endpoints, tokenAuth: 'private_key_jwt', clientId: CLIENTS.jwt.id, privateKeyFile: 'stranger.pem', keyId: 'client-key-1' },
        wrongSecret: { ...endpoints, tokenAuth: 'client_secret_post', clientId: CLIENTS.post.id, clientSecret: `${CLIENTS.post.secret}-wrong` },
      },
    };
    const { proxyUrl, adminUrl } = await startOAuthSidecar(
      { SIDECAR_CONFIG: '/cfg/profiles.json', LOG_LEVEL: 'trace' },
      {
        files: {
          '/cfg/profiles.json': JSON.stringify(profiles),
          '/cfg/client.jwk': JSON.stringify(provider.clientJwk),
          '/cfg/stranger.pem': provider.strangerKeyPem,
        },
        logLevel: 'trace',
        logStream: { write: (line) => void (logs += line) },
      },
    );

    for (const profile of Object.keys(profiles.profiles)) {
      for (let i = 0; i < 3; i++) {
        const response = await request(`${proxyUrl}/api/things`, { headers: { 'x-token-profile': profile } });
        await response.body.text();
        assert.equal(response.statusCode, ['stranger', 'wrongSecret'].includes(profile) ? 503 : 200, profile);
      }
    }
    await request(`${adminUrl}/token/refresh`, { method: 'POST' }).then((r) => r.body.text());
    await eventually(async () => (logs.includes('token refresh failed') ? true : undefined), 'a failed refresh is logged');

    // Positive controls: the scenario did sign assertions, issue tokens and log at trace.
    assert.ok(provider.assertions.length >= 2, `${provider.assertions.length} assertions seen by the provider`);
    assert.ok(provider.issued.length >= 3);
    assert.ok(logs.split('\n').length > 20, 'trace logging produced lines');

    const pemLines = (pem: string) => pem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));
    const forbidden: Array<[string, string]> = [
      ...[...pemLines(provider.clientKeyPem), ...pemLines(provider.strangerKeyPem)].map((line) => ['private key (PEM)', line] as [string, string]),
      ['private key (JWK d)', String(provider.clientJwk.d)],
      ...provider.assertions.map((assertion) => ['client assertion', assertion] as [string, string]),
      ...provider.assertions.map((assertion) => ['client assertion signature', assertion.split('.')[2]!] as [string, string]),
      ['client secret', CLIENTS.basic.secret],
      ['client secret', CLIENTS.post.secret],
      ['client secret (Basic)', Buffer.from(`${CLIENTS.basic.id}:${CLIENTS.basic.secret}`).toString('base64')],
      ...provider.issued.map((token) => ['access token', token] as [string, string]),
    ];
    for (const [kind, secret] of forbidden) {
      const at = logs.indexOf(secret);
      assert.equal(at, -1, `logs contain a ${kind}: …${logs.slice(Math.max(0, at - 100), at + 40)}…`);
    }
  });
});
