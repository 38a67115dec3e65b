import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { parseSigningKey, withCertificate } from '../../src/config/signing-key.js';
import type { SigningKey } from '../../src/token/client-auth.js';
import { JWT_BEARER_ASSERTION } from '../../src/token/client-auth.js';
import { requestToken, TokenEndpointError, type TokenEndpointClient } from '../../src/token/endpoint.js';
import { ClientCredentialsGrant } from '../../src/token/grants/client-credentials.js';

// The token endpoint client against a real local HTTP server: what each client authentication
// method puts on the wire, and how answers of real providers are read.

interface Seen {
  headers: Record<string, string | string[] | undefined>;
  form: URLSearchParams;
}
const seen: Seen[] = [];
let next: { status: number; headers?: Record<string, string>; body: string } = { status: 200, body: '{}' };

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    seen.push({ headers: req.headers, form: new URLSearchParams(body) });
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers }).end(next.body);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
const tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/v1/token`;

function answer(status: number, body: unknown, headers?: Record<string, string>): void {
  next = { status, body: typeof body === 'string' ? body : JSON.stringify(body), ...(headers && { headers }) };
}

async function ask(client: Partial<TokenEndpointClient> = {}) {
  seen.length = 0;
  const response = await requestToken({ tokenUrl, clientId: 'client-1', clientSecret: 'secret-1', ...client }, await new ClientCredentialsGrant().request(), 2000);
  return { response, request: seen[0]! };
}

async function failure(client: Partial<TokenEndpointClient> = {}): Promise<TokenEndpointError> {
  try {
    await ask(client);
  } catch (err) {
    assert.ok(err instanceof TokenEndpointError, String(err));
    return err;
  }
  assert.fail('expected a TokenEndpointError');
}

const GOOD = { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 };

function key(text: string, kid?: string): SigningKey {
  const parsed = parseSigningKey(text, kid);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.rule);
  return parsed.value;
}

describe('client authentication on the wire', () => {
  it('client_secret_basic: id and secret in HTTP Basic, none in the form', async () => {
    answer(200, GOOD);
    const { request } = await ask({ tokenAuth: 'client_secret_basic' });
    assert.equal(request.headers.authorization, `Basic ${Buffer.from('client-1:secret-1').toString('base64')}`);
    assert.deepEqual([...request.form], [['grant_type', 'client_credentials']]);
  });

  it('client_secret_post: id and secret in the form, no Authorization header', async () => {
    answer(200, GOOD);
    const { request } = await ask({ tokenAuth: 'client_secret_post' });
    assert.equal(request.headers.authorization, undefined);
    assert.deepEqual([...request.form], [['grant_type', 'client_credentials'], ['client_id', 'client-1'], ['client_secret', 'secret-1']]);
  });

  it('sends scope, audience, every resource and the extra fields, in that order', async () => {
    answer(200, GOOD);
    const { request } = await ask({
      scope: 'api:read api:write',
      audience: 'https://api.example.com',
      resources: ['https://a.example/', 'https://b.example/'],
      tokenParams: [['tenant', 'acme'], ['x', '1&2']],
    });
    assert.deepEqual([...request.form], [
      ['grant_type', 'client_credentials'], ['scope', 'api:read api:write'], ['audience', 'https://api.example.com'],
      ['resource', 'https://a.example/'], ['resource', 'https://b.example/'], ['tenant', 'acme'], ['x', '1&2'],
    ]);
  });

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = [
    { alg: 'RS256', what: 'an RSA PKCS#1 PEM', text: rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey: rsa.publicKey },
    { alg: 'PS256', what: 'an RSA JWK that says alg PS256', text: JSON.stringify({ ...rsa.privateKey.export({ format: 'jwk' }), alg: 'PS256', kid: 'jwk-kid' }), publicKey: rsa.publicKey },
    { alg: 'ES256', what: 'an EC SEC1 PEM', text: ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(), publicKey: ec.publicKey },
  ] as const;
  for (const { alg, what, text, publicKey } of keys) {
    it(`private_key_jwt with ${what}: a fresh ${alg} assertion per request (iss = sub = client id, aud = token endpoint, unique jti, short exp)`, async () => {
      answer(200, GOOD);
      const signing = key(text, alg === 'PS256' ? undefined : 'set-kid');
      const first = await ask({ tokenAuth: 'private_key_jwt', clientSecret: undefined, privateKey: signing });
      const second = await ask({ tokenAuth: 'private_key_jwt', clientSecret: undefined, privateKey: signing });
      const jtis = [];
      for (const { request } of [first, second]) {
        assert.equal(request.headers.authorization, undefined);
        assert.equal(request.form.get('client_id'), 'client-1');
        assert.equal(request.form.get('client_assertion_type'), JWT_BEARER_ASSERTION);
        assert.equal(request.form.get('client_secret'), null);
        const assertion = request.form.get('client_assertion')!;
        const header = decodeProtectedHeader(assertion);
        assert.equal(header.alg, alg);
        assert.equal(header.kid, alg === 'PS256' ? 'jwk-kid' : 'set-kid');
        const { payload } = await jwtVerify(assertion, publicKey, { algorithms: [alg], issuer: 'client-1', subject: 'client-1', audience: tokenUrl });
        assert.ok(payload.jti);
        assert.ok(payload.exp! - payload.iat! <= 60, 'short-lived');
        jtis.push(payload.jti);
      }
      assert.notEqual(jtis[0], jtis[1]);
    });
  }
});

describe('the key\'s certificate', () => {
  it('puts its thumbprints in the assertion header as x5t#S256 and x5t', async () => {
    const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
    const withCert = withCertificate(key(fixture('test-only-key.pem')), fixture('test-only-cert.pem'));
    assert.ok(withCert.ok);
    answer(200, GOOD);
    const { request } = await ask({ tokenAuth: 'private_key_jwt', clientSecret: undefined, privateKey: withCert.value });
    const header = decodeProtectedHeader(request.form.get('client_assertion')!);
    assert.equal(header['x5t#S256'], withCert.value.x5tS256);
    assert.equal(header.x5t, withCert.value.x5t);
    assert.equal(header.alg, 'RS256');
  });
});

describe('answers as real providers send them', () => {
  const lifetimes: Array<[string, unknown, number, boolean]> = [
    ['a number', 3600, 3_600_000, false],
    ['a numeric string', '3599', 3_599_000, false],
    ['missing: the configured default, flagged as assumed', undefined, 120_000, true],
    ['null: the configured default, flagged as assumed', null, 120_000, true],
  ];
  for (const [what, expiresIn, ms, assumed] of lifetimes) {
    it(`reads expires_in as ${what}`, async () => {
      answer(200, { access_token: 'at-1', token_type: 'bearer', expires_in: expiresIn });
      const { response } = await ask({ defaultLifetimeS: 120 });
      assert.equal(response.expiresInMs, ms);
      assert.equal(response.lifetimeAssumed === true, assumed);
    });
  }

  for (const bad of [0, -5, 'soon']) {
    it(`refuses expires_in ${JSON.stringify(bad)} as malformed, not retryable`, async () => {
      answer(200, { access_token: 'at-1', token_type: 'Bearer', expires_in: bad });
      const err = await failure();
      assert.equal(err.kind, 'malformed');
      assert.equal(err.retryable, false);
    });
  }

  for (const tokenType of ['Bearer', 'BEARER', 'bearer', undefined]) {
    it(`takes token_type ${tokenType ?? '(absent)'} as a bearer token`, async () => {
      answer(200, { ...GOOD, token_type: tokenType });
      assert.equal((await ask()).response.accessToken, 'at-1');
    });
  }

  for (const tokenType of ['DPoP', 'dpop', 'MAC', 'PoP']) {
    it(`refuses a ${tokenType} token rather than send it as a bearer token`, async () => {
      answer(200, { ...GOOD, token_type: tokenType });
      const err = await failure();
      assert.equal(err.kind, 'malformed');
      assert.equal(err.retryable, false);
      assert.match(err.summary, new RegExp(`issued a ${tokenType} token, which needs a proof of possession.*tokens of type Bearer, so it refuses this one`));
    });
  }

  it('reads application/json; charset=utf-8 with extra fields', async () => {
    answer(200, { ...GOOD, scope: 'a b', id_token: 'x', ext_expires_in: 3600, 'not-before-policy': 0 }, { 'content-type': 'application/json; charset=utf-8' });
    const { response } = await ask();
    assert.deepEqual(response, { accessToken: 'at-1', expiresInMs: 3_600_000, refreshToken: undefined });
  });

  it('keeps error, error_description and error_uri in the error summary', async () => {
    answer(400, { error: 'invalid_scope', error_description: 'scope x is not allowed', error_uri: 'https://idp.example/errors/invalid_scope' });
    const err = await failure();
    assert.equal(err.kind, 'rejected');
    assert.equal(err.oauthErrorUri, 'https://idp.example/errors/invalid_scope');
    assert.equal(err.summary, 'token endpoint answered HTTP 400 error=invalid_scope description="scope x is not allowed" uri=https://idp.example/errors/invalid_scope');
  });

  it('scrubs the client secret and the assertion from an error the endpoint echoes them in', async () => {
    answer(401, { error: 'invalid_client', error_description: 'bad secret secret-1' });
    assert.equal((await failure()).oauthDescription, 'bad secret <hidden>');
  });
});
