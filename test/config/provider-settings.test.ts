import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { Config, ProfileConfig } from '../../src/config/types.js';

// The OAuth2 provider settings (client authentication, token request fields, provider-neutral
// credential names, the injected header): read from flags, env and the profiles file, and every
// problem reported at start, never quoting a secret or a key.

type Env = Record<string, string | undefined>;
const SECRET = 'S3cr3t-never-shown';
const CREDENTIALS: Env = { GENESYSCLOUD_OAUTHCLIENT_ID: 'client-1', GENESYSCLOUD_OAUTHCLIENT_SECRET: SECRET };

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const RSA_PEM = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const FILES: Record<string, string> = {
  '/k/rsa.pem': RSA_PEM,
  '/k/rsa-pkcs1.pem': rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  '/k/ec.pem': ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
  '/k/ps256.jwk': JSON.stringify({ ...rsa.privateKey.export({ format: 'jwk' }), alg: 'PS256', kid: 'from-jwk' }),
  '/k/ec.jwk': JSON.stringify({ ...ec.privateKey.export({ format: 'jwk' }), kid: 'ec-kid' }),
  '/k/public.pem': rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  '/k/public.jwk': JSON.stringify(rsa.publicKey.export({ format: 'jwk' })),
  '/k/rsa1024.pem': generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  '/k/p384.pem': generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  '/k/encrypted.pem': rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString(),
  '/k/garbage.txt': `not a key ${SECRET}`,
  '/k/ed25519.pem': generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  '/s/secret': `${SECRET}\n`,
  '/k/test-only-key.pem': fixture('test-only-key.pem'),
  '/k/test-only-cert.pem': fixture('test-only-cert.pem'),
  '/k/test-only-other-cert.pem': fixture('test-only-other-cert.pem'),
};
function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
}
const readFile = (path: string): string => {
  const content = FILES[path];
  if (content === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  return content;
};

function load(env: Env, argv: string[] = [], credentials = CREDENTIALS): Readonly<Config> {
  return loadConfig(argv, { ...credentials, ...env }, readFile);
}

function profile(env: Env, argv: string[] = [], credentials = CREDENTIALS): ProfileConfig {
  return load(env, argv, credentials).profiles[0]!;
}

function problemsOf(env: Env, argv: string[] = [], credentials = CREDENTIALS): string[] {
  try {
    load(env, argv, credentials);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('token request settings', () => {
  it('reads each from env, and the flag wins', () => {
    const p = profile({
      OAUTH_TOKEN_AUTH: 'CLIENT_SECRET_POST',
      OAUTH_SCOPE: '  api:read   api:write ',
      OAUTH_AUDIENCE: 'https://api.example.com',
      OAUTH_RESOURCE: 'https://a.example/, https://b.example/x',
      OAUTH_TOKEN_PARAMS: 'tenant=acme&x=1%262&x=3',
      TOKEN_DEFAULT_LIFETIME_S: '900',
    }, ['--audience', 'urn:my-api']);
    assert.equal(p.tokenAuth, 'client_secret_post');
    assert.equal(p.scope, 'api:read api:write');
    assert.equal(p.audience, 'urn:my-api');
    assert.deepEqual(p.resources, ['https://a.example/', 'https://b.example/x']);
    assert.deepEqual(p.tokenParams, [['tenant', 'acme'], ['x', '1&2'], ['x', '3']]);
    assert.equal(p.defaultLifetimeS, 900);
  });

  const rules: Array<[string, Env, string]> = [
    ['an unknown client authentication', { OAUTH_TOKEN_AUTH: 'jwt' }, 'OAUTH_TOKEN_AUTH (--token-auth): must be one of client_secret_basic, client_secret_post, private_key_jwt, got "jwt"'],
    ['a scope with a quote', { OAUTH_SCOPE: 'a "b"' }, 'OAUTH_SCOPE (--scope): must be space-separated scopes of printable ASCII without " or \\, got "a \\"b\\""'],
    ['a relative resource', { OAUTH_RESOURCE: 'https://a.example/,/api' }, 'OAUTH_RESOURCE (--resource): entry 2: must be an absolute URI without a fragment, got "https://a.example/,/api"'],
    ['a resource with a fragment', { OAUTH_RESOURCE: 'https://a.example/#x' }, 'OAUTH_RESOURCE (--resource): entry 1: must be an absolute URI without a fragment, got "https://a.example/#x"'],
    ['extra fields that would override the grant and the client authentication', { OAUTH_TOKEN_PARAMS: 'grant_type=password&client_secret=x&a=1' },
      'OAUTH_TOKEN_PARAMS (--token-param): grant_type is set by --grant; client_secret is set by --client-secret, got "grant_type=password&client_secret=x&a=1"'],
    ['an extra scope field', { OAUTH_TOKEN_PARAMS: 'scope=a' }, 'OAUTH_TOKEN_PARAMS (--token-param): scope has its own setting, --scope, got "scope=a"'],
    ['extra fields without a name', { OAUTH_TOKEN_PARAMS: '=1' }, 'OAUTH_TOKEN_PARAMS (--token-param): must be name=value pairs joined by & (a=1&b=2), got "=1"'],
    ['a default lifetime of 0', { TOKEN_DEFAULT_LIFETIME_S: '0' }, 'TOKEN_DEFAULT_LIFETIME_S (--token-default-lifetime-s): must be an integer from 1 to 86400, got "0"'],
  ];
  for (const [wrong, env, problem] of rules) {
    it(`rejects ${wrong}, naming the setting and the rule`, () => {
      assert.deepEqual(problemsOf(env), [problem]);
    });
  }
});

describe('private_key_jwt', () => {
  const keys: Array<[string, string, string, string | undefined]> = [
    ['an RSA PKCS#8 PEM', '/k/rsa.pem', 'RS256', undefined],
    ['an RSA PKCS#1 PEM', '/k/rsa-pkcs1.pem', 'RS256', undefined],
    ['an EC SEC1 PEM', '/k/ec.pem', 'ES256', undefined],
    ['an RSA JWK that says PS256', '/k/ps256.jwk', 'PS256', 'from-jwk'],
    ['an EC JWK', '/k/ec.jwk', 'ES256', 'ec-kid'],
  ];
  for (const [what, path, alg, kid] of keys) {
    it(`takes ${what}, the algorithm from the key (${alg}), kid ${kid ?? 'unset'}`, () => {
      const p = profile({ OAUTH_TOKEN_AUTH: 'private_key_jwt', OAUTH_PRIVATE_KEY_FILE: path }, [], { OAUTH_CLIENT_ID: 'c' });
      assert.equal(p.tokenAuth, 'private_key_jwt');
      assert.equal(p.privateKey?.alg, alg);
      assert.equal(p.privateKey?.kid, kid);
      assert.match(p.privateKey!.pkcs8, /^-----BEGIN PRIVATE KEY-----/);
      assert.equal(p.clientSecret, undefined);
    });
  }

  it('lets OAUTH_KEY_ID set the kid, over the JWK\'s', () => {
    const p = profile({ OAUTH_TOKEN_AUTH: 'private_key_jwt', OAUTH_PRIVATE_KEY_FILE: '/k/ps256.jwk', OAUTH_KEY_ID: 'mine' }, [], { OAUTH_CLIENT_ID: 'c' });
    assert.equal(p.privateKey?.kid, 'mine');
  });

  const bad: Array<[string, string, string]> = [
    ['a public key', '/k/public.pem', 'is neither a PEM private key nor a JWK'],
    ['a public JWK', '/k/public.jwk', 'is a JWK without its private part ("d"): the private key is needed'],
    ['a 1024-bit RSA key', '/k/rsa1024.pem', 'is an RSA key shorter than 2048 bits'],
    ['a P-384 key', '/k/p384.pem', 'is an EC key not on P-256 (ES256 needs P-256)'],
    ['an encrypted key', '/k/encrypted.pem', 'is an encrypted key; give it unencrypted (file mode 0600)'],
    ['an Ed25519 key', '/k/ed25519.pem', 'is a ed25519 key; RSA or EC P-256 is needed'],
    ['a file that is no key', '/k/garbage.txt', 'is neither a PEM private key nor a JWK'],
  ];
  for (const [what, path, rule] of bad) {
    it(`refuses ${what} at start, without quoting the file`, () => {
      const problems = problemsOf({ OAUTH_TOKEN_AUTH: 'private_key_jwt', OAUTH_PRIVATE_KEY_FILE: path }, [], { OAUTH_CLIENT_ID: 'c' });
      assert.deepEqual(problems, [`OAUTH_PRIVATE_KEY_FILE (--private-key-file): "${path}" ${rule}`]);
      assert.ok(!problems.join().includes(SECRET));
    });
  }

  it('takes the key\'s certificate and sends its SHA-256 and SHA-1 thumbprints (Entra ID)', () => {
    const p = profile({ OAUTH_TOKEN_AUTH: 'private_key_jwt', OAUTH_PRIVATE_KEY_FILE: '/k/test-only-key.pem', OAUTH_CERT_FILE: '/k/test-only-cert.pem' }, [], { OAUTH_CLIENT_ID: 'c' });
    const der = new X509Certificate(FILES['/k/test-only-cert.pem']!).raw;
    assert.equal(p.privateKey?.x5tS256, createHash('sha256').update(der).digest('base64url'));
    assert.equal(p.privateKey?.x5t, createHash('sha1').update(der).digest('base64url'));
  });

  it('refuses a certificate of another key, and one that is no certificate', () => {
    const env = { OAUTH_TOKEN_AUTH: 'private_key_jwt', OAUTH_PRIVATE_KEY_FILE: '/k/test-only-key.pem' };
    assert.deepEqual(problemsOf({ ...env, OAUTH_CERT_FILE: '/k/test-only-other-cert.pem' }, [], { OAUTH_CLIENT_ID: 'c' }), [
      'OAUTH_CERT_FILE (--cert-file): "/k/test-only-other-cert.pem" is the certificate of another key than the private key',
    ]);
    assert.deepEqual(problemsOf({ ...env, OAUTH_CERT_FILE: '/k/rsa.pem' }, [], { OAUTH_CLIENT_ID: 'c' }), [
      'OAUTH_CERT_FILE (--cert-file): "/k/rsa.pem" is not a PEM X.509 certificate',
    ]);
    assert.deepEqual(problemsOf({ OAUTH_CERT_FILE: '/k/test-only-cert.pem' }), ['OAUTH_CERT_FILE (--cert-file): only used with a private key file (private_key_jwt)']);
  });

  it('needs the key, and reports a secret or a key id that would go unused', () => {
    assert.deepEqual(problemsOf({ OAUTH_TOKEN_AUTH: 'private_key_jwt' }).sort(), [
      'GENESYSCLOUD_OAUTHCLIENT_SECRET (--client-secret) or GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE (--client-secret-file): not used by private_key_jwt (the private key authenticates the client); remove it',
      'OAUTH_PRIVATE_KEY_FILE (--private-key-file): required by private_key_jwt',
    ]);
    assert.deepEqual(problemsOf({ OAUTH_PRIVATE_KEY_FILE: '/k/rsa.pem', OAUTH_KEY_ID: 'k' }), [
      'OAUTH_PRIVATE_KEY_FILE (--private-key-file): only used by private_key_jwt, but the client authentication is client_secret_basic',
    ]);
    assert.deepEqual(problemsOf({ OAUTH_KEY_ID: 'k' }), ['OAUTH_KEY_ID (--key-id): only used with a private key file (private_key_jwt)']);
  });
});

describe('provider-neutral credential names', () => {
  it('reads OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET and OAUTH_CLIENT_SECRET_FILE', () => {
    assert.equal(profile({ OAUTH_CLIENT_ID: 'n', OAUTH_CLIENT_SECRET: 's' }, [], {}).clientId, 'n');
    assert.equal(profile({ OAUTH_CLIENT_ID: 'n', OAUTH_CLIENT_SECRET: 's' }, [], {}).clientSecret, 's');
    assert.equal(profile({ OAUTH_CLIENT_ID: 'n', OAUTH_CLIENT_SECRET_FILE: '/s/secret' }, [], {}).clientSecret, SECRET);
  });

  it('accepts both names with the same value', () => {
    assert.equal(profile({ OAUTH_CLIENT_ID: 'client-1', OAUTH_CLIENT_SECRET: SECRET }).clientId, 'client-1');
  });

  it('refuses both names with different values, without showing either', () => {
    const problems = problemsOf({ OAUTH_CLIENT_ID: 'other', OAUTH_CLIENT_SECRET: 'other-secret' });
    assert.deepEqual(problems, [
      'GENESYSCLOUD_OAUTHCLIENT_ID and OAUTH_CLIENT_ID: name the same setting (--client-id) with different values; give one',
      'GENESYSCLOUD_OAUTHCLIENT_SECRET and OAUTH_CLIENT_SECRET: name the same setting (--client-secret) with different values; give one',
    ]);
    assert.ok(!problems.join().includes(SECRET) && !problems.join().includes('other-secret'));
  });

  it('lets the flag win over either name', () => {
    assert.equal(profile({ OAUTH_CLIENT_ID: 'n' }, ['--client-id', 'flag'], { OAUTH_CLIENT_SECRET: 's' }).clientId, 'flag');
  });
});

describe('injected header', () => {
  it('defaults to authorization: Bearer <token>', () => {
    const p = profile({});
    assert.equal(p.injectHeader, 'authorization');
    assert.equal(p.injectPrefix, 'Bearer ');
  });

  it('takes a header name in lower case, and the prefix verbatim', () => {
    const p = profile({ INJECT_HEADER: 'X-Api-Key', INJECT_PREFIX: 'Token ' });
    assert.equal(p.injectHeader, 'x-api-key');
    assert.equal(p.injectPrefix, 'Token ');
  });

  for (const [form, env, argv] of [
    ['INJECT_PREFIX=', { INJECT_PREFIX: '' }, []],
    ['--inject-prefix=', {}, ['--inject-prefix=']],
    ['--inject-prefix ""', { INJECT_PREFIX: 'Bearer ' }, ['--inject-prefix', '']],
  ] as Array<[string, Env, string[]]>) {
    it(`means no prefix when set but empty: ${form}`, () => {
      assert.equal(profile(env, argv).injectPrefix, '');
    });
  }

  for (const header of ['Host', 'content-length', 'Connection', 'transfer-encoding', 'x-sidecar-key', 'x-token-profile']) {
    it(`refuses ${header}`, () => {
      assert.deepEqual(problemsOf({ INJECT_HEADER: header }), [
        `INJECT_HEADER (--inject-header): must not be a hop-by-hop header, host, content-length, x-sidecar-key or x-token-profile, got ${JSON.stringify(header)}`,
      ]);
    });
  }

  it('refuses a prefix that would run into the token (an env file that lost the trailing space)', () => {
    assert.deepEqual(problemsOf({ INJECT_PREFIX: 'Bearer' }), [
      'INJECT_PREFIX (--inject-prefix): ends with a letter or digit, so the token would run into it; end it with a space ("Bearer "), got "Bearer"',
    ]);
    assert.equal(profile({ INJECT_PREFIX: 'token=' }).injectPrefix, 'token=');
  });

  it('refuses a header name with a space, and a prefix with a line break', () => {
    assert.deepEqual(problemsOf({ INJECT_HEADER: 'x api key', INJECT_PREFIX: 'Bearer\r\nX-Evil: 1' }), [
      'INJECT_HEADER (--inject-header): must be an HTTP header name (letters, digits and !#$%&\'*+-.^_`|~), got "x api key"',
      'INJECT_PREFIX (--inject-prefix): must be at most 64 printable ASCII characters (spaces allowed), got "Bearer\\r\\nX-Evil: 1"',
    ]);
  });
});

describe('profiles file fields', () => {
  const profiles = (document: unknown, env: Env = {}) => {
    FILES['/cfg/profiles.json'] = JSON.stringify(document);
    return loadConfig(['--config', '/cfg/profiles.json'], env, readFile);
  };

  it('reads every provider field per profile; fields left out come from the flat settings', () => {
    FILES['/cfg/keys/jwt.pem'] = RSA_PEM;
    const config = profiles({
      profiles: {
        auth0: { clientId: 'a', clientSecret: 's', tokenAuth: 'client_secret_post', audience: 'https://api.example.com', tokenParams: { organization: 'org_1' } },
        okta: { clientId: 'o', tokenAuth: 'private_key_jwt', privateKeyFile: 'keys/jwt.pem', keyId: 'k1', scope: ['a', 'b'], resource: ['https://r.example/'] },
        apikey: { clientId: 'k', clientSecret: 's', injectHeader: 'X-Api-Key', injectPrefix: '', tokenDefaultLifetimeS: 60 },
      },
    }, { OAUTH_SCOPE: 'flat:scope', INJECT_PREFIX: 'Flat ' });
    const [auth0, okta, apikey] = config.profiles;
    assert.deepEqual(
      { auth: auth0?.tokenAuth, audience: auth0?.audience, params: auth0?.tokenParams, scope: auth0?.scope, prefix: auth0?.injectPrefix },
      { auth: 'client_secret_post', audience: 'https://api.example.com', params: [['organization', 'org_1']], scope: 'flat:scope', prefix: 'Flat ' },
    );
    assert.deepEqual(
      { alg: okta?.privateKey?.alg, kid: okta?.privateKey?.kid, scope: okta?.scope, resources: okta?.resources, secret: okta?.clientSecret },
      { alg: 'RS256', kid: 'k1', scope: 'a b', resources: ['https://r.example/'], secret: undefined },
    );
    assert.deepEqual({ header: apikey?.injectHeader, prefix: apikey?.injectPrefix, lifetime: apikey?.defaultLifetimeS }, { header: 'x-api-key', prefix: '', lifetime: 60 });
  });

  it('reports every bad field at once, naming the file and the path', () => {
    let problems: string[] = [];
    try {
      profiles({
        profiles: {
          a: { clientId: 'a', clientSecret: 's', tokenAuth: 'magic', injectHeader: 'host', tokenParams: 'client_id=x', resource: 'nope' },
          b: { clientId: 'b', tokenAuth: 'private_key_jwt' },
        },
      });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    assert.deepEqual(problems.sort(), [
      '/cfg/profiles.json: profiles.a.injectHeader: must not be a hop-by-hop header, host, content-length, x-sidecar-key or x-token-profile, got "host"',
      '/cfg/profiles.json: profiles.a.resource: entry 1: must be an absolute URI without a fragment, got "nope"',
      '/cfg/profiles.json: profiles.a.tokenAuth: must be one of client_secret_basic, client_secret_post, private_key_jwt, got "magic"',
      '/cfg/profiles.json: profiles.a.tokenParams: client_id is set by --client-id, got "client_id=x"',
      '/cfg/profiles.json: profiles.b.privateKeyFile: required by private_key_jwt',
    ]);
  });
});

describe('the jwt_bearer grant (RFC 7523 §2.1)', () => {
  it('takes the key, and its subject and audience from flags, env or a profile; unset, the client id and the token URL are used later', () => {
    const flat = profile({ OAUTH_GRANT: 'jwt_bearer', OAUTH_PRIVATE_KEY_FILE: '/k/ec.pem', OAUTH_JWT_SUBJECT: 'user-7' }, ['--jwt-audience', 'https://issuer.example/']);
    assert.deepEqual({ grant: flat.grant, alg: flat.privateKey?.alg, secret: flat.clientSecret, options: flat.grantOptions },
      { grant: 'jwt_bearer', alg: 'ES256', secret: SECRET, options: { jwtSubject: 'user-7', jwtAudience: 'https://issuer.example/' } });
    assert.deepEqual(profile({ OAUTH_GRANT: 'jwt_bearer', OAUTH_PRIVATE_KEY_FILE: '/k/ec.pem' }).grantOptions, {});
    FILES['/cfg/bearer.json'] = JSON.stringify({ profiles: { svc: { grant: 'jwt_bearer', clientId: 'c', clientSecret: 's', privateKeyFile: '/k/ec.pem', jwtSubject: 'svc-1' } } });
    assert.deepEqual(loadConfig(['--config', '/cfg/bearer.json'], {}, readFile).profiles[0]?.grantOptions, { jwtSubject: 'svc-1' });
  });

  it('needs the private key, and reports a subject or audience another grant would ignore', () => {
    assert.deepEqual(problemsOf({ OAUTH_GRANT: 'jwt_bearer' }), ['OAUTH_PRIVATE_KEY_FILE (--private-key-file): required by the jwt_bearer grant']);
    assert.deepEqual(problemsOf({ OAUTH_JWT_SUBJECT: 'user-7', OAUTH_JWT_AUDIENCE: 'x' }), [
      'OAUTH_JWT_SUBJECT (--jwt-subject): only used by the jwt_bearer grant, but the grant is client_credentials',
      'OAUTH_JWT_AUDIENCE (--jwt-audience): only used by the jwt_bearer grant, but the grant is client_credentials',
    ]);
    assert.deepEqual(problemsOf({ OAUTH_TOKEN_PARAMS: 'assertion=x' }), [
      'OAUTH_TOKEN_PARAMS (--token-param): assertion is set by --grant jwt_bearer (signed with --private-key-file), got "assertion=x"',
    ]);
  });
});
