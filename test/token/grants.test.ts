import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { parseSigningKey } from '../../src/config/signing-key.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import { TokenEndpointError } from '../../src/token/endpoint.js';
import { AuthorizationCodeGrant } from '../../src/token/grants/authorization-code.js';
import { createGrant, GRANT_NAMES, GRANTS, type GrantProfile } from '../../src/token/grants/index.js';

// Each grant's part of a token request, built from its profile at request time, and the state it
// keeps from answers. The end-to-end proofs are the endpoint-source tests (mock) and test/oauth2
// (oidc-provider); these pin what each grant puts in the form.

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const parsed = parseSigningKey(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'kid-1');
assert.ok(parsed.ok);
const store = new MemoryTokenStore();
const deps = { store, key: 'grants-test' };

function profile(fields: Partial<GrantProfile>): GrantProfile {
  return { grant: 'client_credentials', clientId: 'client-1', tokenUrl: 'https://idp.example/token', grantOptions: {}, ...fields } as GrantProfile;
}

test('the table names each grant the grant setting accepts, and each row builds a grant whose first field is its grant_type', async () => {
  assert.deepEqual(GRANT_NAMES, Object.keys(GRANTS));
  const types: Record<string, string> = {};
  for (const grant of GRANT_NAMES) {
    const request = await createGrant(profile({ grant, refreshToken: 'seed-1', privateKey: parsed.value }), deps).request({ local: true });
    types[grant] = request.fields[0]![0] === 'grant_type' ? request.fields[0]![1] : 'grant_type not first';
  }
  assert.deepEqual(types, { client_credentials: 'client_credentials', refresh_token: 'refresh_token', jwt_bearer: 'urn:ietf:params:oauth:grant-type:jwt-bearer' });
});

test('refresh_token: the seed is read from the profile when asked, then the store\'s rotated token wins, and a local call uses the last one seen', async () => {
  let seed = 'seed-before';
  const live = { ...profile({ grant: 'refresh_token' }), get refreshToken() { return seed; } };
  const grant = createGrant(live, { store: new MemoryTokenStore(), key: 'k' });
  seed = 'seed-after';
  assert.deepEqual((await grant.request({ local: false })).fields, [['grant_type', 'refresh_token'], ['refresh_token', 'seed-after']]);
  await grant.answered({ refreshToken: 'rotated-1' }, { generation: 1, local: false });
  const request = await grant.request({ local: false });
  assert.deepEqual(request.fields[1], ['refresh_token', 'rotated-1']);
  assert.deepEqual(request.secrets, ['rotated-1']);
  await grant.answered({ refreshToken: 'rotated-2' }, { generation: 2, local: true });
  assert.deepEqual((await grant.request({ local: true })).fields[1], ['refresh_token', 'rotated-2'], 'local: the last one seen, not the store');
  assert.deepEqual((await grant.request({ local: false })).fields[1], ['refresh_token', 'rotated-1'], 'a local answer is not written to the store');
});

test('refresh_token without any refresh token is refused before asking', async () => {
  const grant = createGrant(profile({ grant: 'refresh_token' }), { store: new MemoryTokenStore(), key: 'k' });
  await assert.rejects(grant.request({ local: false }), (err: unknown) => err instanceof TokenEndpointError && err.kind === 'rejected');
});

test('jwt_bearer: a new assertion per request, iss the client, sub and aud from the options or else the client id and token URL', async () => {
  const publicKey = await importSPKI(ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'ES256');
  const plain = createGrant(profile({ grant: 'jwt_bearer', privateKey: parsed.value }), deps);
  const first = await plain.request({ local: false });
  const second = await plain.request({ local: false });
  const assertion = first.fields[1]![1];
  assert.deepEqual(first.fields.map(([name]) => name), ['grant_type', 'assertion']);
  assert.deepEqual(first.secrets, [assertion]);
  assert.notEqual(second.fields[1]![1], assertion, 'never the same assertion twice');
  const { payload } = await jwtVerify(assertion, publicKey, { issuer: 'client-1', subject: 'client-1', audience: 'https://idp.example/token' });
  assert.ok(typeof payload.jti === 'string' && payload.exp! - payload.iat! === 60);
  assert.equal(decodeProtectedHeader(assertion).kid, 'kid-1');

  const named = createGrant(profile({ grant: 'jwt_bearer', privateKey: parsed.value, grantOptions: { jwtSubject: 'user-7', jwtAudience: 'https://idp.example/' } }), deps);
  const claims = decodeJwt((await named.request({ local: false })).fields[1]![1]);
  assert.deepEqual({ sub: claims.sub, aud: claims.aud }, { sub: 'user-7', aud: 'https://idp.example/' });
});

test('authorization_code: the code, redirect URI and verifier of one exchange, the code and verifier as secrets', async () => {
  const request = await new AuthorizationCodeGrant({ code: 'code-1', redirectUri: 'http://127.0.0.1:8085/callback', codeVerifier: 'verifier-1' }).request();
  assert.deepEqual(request.fields, [
    ['grant_type', 'authorization_code'], ['code', 'code-1'], ['redirect_uri', 'http://127.0.0.1:8085/callback'], ['code_verifier', 'verifier-1'],
  ]);
  assert.deepEqual(request.secrets, ['code-1', 'verifier-1']);
});
