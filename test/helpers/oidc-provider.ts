import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLocalJWKSet, createRemoteJWKSet, exportJWK, exportPKCS8, generateKeyPair, jwtVerify, type JWK } from 'jose';
import Provider, { errors, type ClientMetadata } from 'oidc-provider';
import { waitFor } from '../../src/harness/wait-for.js';

/**
 * Start these at a test file's top level (top-level await): each closes itself after the file.
 *
 * A real OAuth 2.0 authorization server in the test process: oidc-provider (OpenID-certified) with
 * the client-credentials grant, the JWT bearer grant (RFC 7523 §2.1, registered below: oidc-provider
 * has the grant machinery but not this grant) and resource indicators, issuing JWT access tokens for one resource
 * server that live a few seconds; and an upstream API that accepts a request only when its token
 * verifies against the provider's JWKS, names that resource as audience and carries the scope.
 */

export const RESOURCE = 'https://api.sidecar-test.example/';
export const SCOPE = 'api:read';
/** A scope the provider knows but no client may ask for: asking for it is `invalid_scope`. */
export const FORBIDDEN_SCOPE = 'api:admin';
/** How long access tokens live unless startProvider is told otherwise. */
export const TOKEN_TTL_S = 4;

export const CLIENTS = {
  basic: { id: 'client-basic', secret: 'basic-secret-7c1e9f2a4b' },
  post: { id: 'client-post', secret: 'post-secret-93d0c6e1f5' },
  jwt: { id: 'client-jwt' },
  /** The JWT bearer grant's client: authenticates with its secret, signs the grant's assertion with the client key. */
  bearer: { id: 'client-bearer', secret: 'bearer-secret-5a8d2c7e1f' },
} as const;

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface TestProvider {
  readonly issuer: string;
  readonly tokenUrl: string;
  /** The private_key_jwt client's key as PKCS#8 PEM, and another key the provider does not know. */
  readonly clientKeyPem: string;
  readonly strangerKeyPem: string;
  /** The same client key as a private JWK (alg ES256). */
  readonly clientJwk: JWK;
  /** POSTs to the token endpoint, whatever their outcome. */
  tokenRequests(): number;
  /** Resolves once no token request is being answered (one may arrive as a sidecar closes). */
  settled(): Promise<void>;
  /** Every client_assertion and JWT bearer assertion the provider received (for the secret-leak test). */
  readonly assertions: string[];
  /** Every access token the provider issued. */
  readonly issued: string[];
  /** The `sub` of every JWT bearer assertion the provider accepted. */
  readonly bearerSubjects: string[];
}

export async function startProvider(opts: { tokenTtlS?: number } = {}): Promise<TestProvider> {
  const tokenTtlS = opts.tokenTtlS ?? TOKEN_TTL_S;
  const server = createServer();
  await listen(server);
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signing = await generateKeyPair('RS256', { extractable: true });
  const client = await generateKeyPair('ES256', { extractable: true });
  const stranger = await generateKeyPair('ES256', { extractable: true });
  const clientJwk = { ...(await exportJWK(client.privateKey)), alg: 'ES256', kid: 'client-key-1' };
  const { d: _private, ...clientPublicJwk } = clientJwk;

  const common: Partial<ClientMetadata> = { grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: SCOPE };
  const provider = new Provider(issuer, {
    clients: [
      { ...common, client_id: CLIENTS.basic.id, client_secret: CLIENTS.basic.secret, token_endpoint_auth_method: 'client_secret_basic' },
      { ...common, client_id: CLIENTS.post.id, client_secret: CLIENTS.post.secret, token_endpoint_auth_method: 'client_secret_post' },
      { ...common, client_id: CLIENTS.jwt.id, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientPublicJwk] } },
      {
        ...common, grant_types: [JWT_BEARER_GRANT], client_id: CLIENTS.bearer.id, client_secret: CLIENTS.bearer.secret,
        token_endpoint_auth_method: 'client_secret_basic', jwks: { keys: [clientPublicJwk] },
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(signing.privateKey)), alg: 'RS256', use: 'sig', kid: 'provider-key-1' }] },
    scopes: [SCOPE, FORBIDDEN_SCOPE],
    ttl: { ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? tokenTtlS },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => false,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== RESOURCE) throw new errors.InvalidTarget('unknown resource server');
          return { scope: `${SCOPE} ${FORBIDDEN_SCOPE}`, audience: RESOURCE, accessTokenTTL: tokenTtlS, accessTokenFormat: 'jwt' };
        },
      },
    },
  });
  const bearerSubjects: string[] = [];
  // RFC 7523 §3: the assertion must verify against a key the client registered (its JWKS), be
  // issued by the client, name this token endpoint as audience, carry a subject and not be expired.
  // A token for the resource server, as the client-credentials grant issues it, is the answer.
  provider.registerGrantType(JWT_BEARER_GRANT, async (ctx) => {
    const { client, params } = ctx.oidc;
    const assertion = (params as { assertion?: unknown }).assertion;
    if (typeof assertion !== 'string' || assertion === '') throw new errors.InvalidRequest('missing assertion');
    let subject: string;
    try {
      const { payload } = await jwtVerify(assertion, createLocalJWKSet({ keys: [...(client!.jwks?.keys ?? [])] as JWK[] }), {
        issuer: client!.clientId,
        audience: `${issuer}/token`,
        requiredClaims: ['sub', 'exp', 'jti'],
      });
      subject = payload.sub!;
    } catch (err) {
      throw new errors.InvalidGrant(`assertion refused: ${(err as { code?: string }).code ?? 'invalid'}`);
    }
    bearerSubjects.push(subject);
    const token = new provider.ClientCredentials({ client: client!, scope: SCOPE });
    token.resourceServer = new provider.ResourceServer(RESOURCE, { scope: SCOPE, audience: RESOURCE, accessTokenTTL: tokenTtlS, accessTokenFormat: 'jwt' });
    const value = await token.save();
    ctx.body = { access_token: value, expires_in: token.expiration, token_type: 'Bearer', scope: SCOPE };
  }, ['assertion', 'scope', 'resource'], ['resource']);
  let tokenRequests = 0;
  const assertions: string[] = [];
  const issued: string[] = [];
  provider.on('grant.success', (ctx) => {
    const { client_assertion: assertion, assertion: grantAssertion } = (ctx.oidc.params ?? {}) as { client_assertion?: unknown; assertion?: unknown };
    for (const value of [assertion, grantAssertion]) if (typeof value === 'string') assertions.push(value);
    const body = ctx.body as { access_token?: unknown } | undefined;
    if (typeof body?.access_token === 'string') issued.push(body.access_token);
  });
  provider.on('grant.error', (ctx) => {
    const { client_assertion: assertion, assertion: grantAssertion } = (ctx.oidc?.params ?? {}) as { client_assertion?: unknown; assertion?: unknown };
    for (const value of [assertion, grantAssertion]) if (typeof value === 'string') assertions.push(value);
  });
  const callback = provider.callback();
  let answering = 0;
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/token')) {
      tokenRequests++;
      answering++;
      res.once('close', () => answering--);
    }
    callback(req, res);
  });
  after(() => close(server));

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    clientKeyPem: await exportPKCS8(client.privateKey),
    strangerKeyPem: await exportPKCS8(stranger.privateKey),
    clientJwk,
    tokenRequests: () => tokenRequests,
    settled: () => waitFor(() => answering === 0, { timeoutMs: 10_000, what: 'the provider answering every token request' }),
    assertions,
    issued,
    bearerSubjects,
  };
}

export interface VerifyingUpstream {
  readonly url: string;
  /** Answers by status. */
  readonly answered: Map<number, number>;
  /** Values of the injected header the upstream saw, by request (only the last 1000 kept). */
  readonly seen: string[];
  /** Headers the client sent that the upstream must never see. */
  readonly leaked: string[];
}

/**
 * The API: 200 only for a token that verifies against the provider's JWKS, with the resource as
 * audience and the scope. `header`/`prefix` say where it expects the token. A clock tolerance of 2 s
 * covers what every resource server allows for: the JWT's iat/exp are whole seconds, while the sidecar
 * counts expires_in from the moment it asked.
 */
export async function startVerifyingUpstream(
  provider: TestProvider,
  /** latencyMs: how long each answer takes (test/helpers/api-latency.ts); none by default. */
  opts: { header?: string; prefix?: string; forbiddenHeaders?: string[]; latencyMs?: number } = {},
): Promise<VerifyingUpstream> {
  const header = opts.header ?? 'authorization';
  const prefix = opts.prefix ?? 'Bearer ';
  const jwks = createRemoteJWKSet(new URL(`${provider.issuer}/jwks`));
  const answered = new Map<number, number>();
  const seen: string[] = [];
  const leaked: string[] = [];

  async function check(req: IncomingMessage): Promise<number> {
    for (const name of opts.forbiddenHeaders ?? []) if (req.headers[name] !== undefined) leaked.push(name);
    const value = req.headers[header];
    if (typeof value !== 'string' || !value.startsWith(prefix)) return 401;
    if (seen.push(value) > 1000) seen.shift();
    try {
      const { payload } = await jwtVerify(value.slice(prefix.length), jwks, {
        issuer: provider.issuer,
        audience: RESOURCE,
        clockTolerance: 2,
      });
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      return scopes.includes(SCOPE) ? 200 : 403;
    } catch {
      return 401;
    }
  }

  const server = createServer((req, res) => {
    req.resume();
    const checked = check(req);
    const answer = opts.latencyMs ? Promise.all([checked, delay(opts.latencyMs)]).then(([status]) => status) : checked;
    answer.then((status) => {
      answered.set(status, (answered.get(status) ?? 0) + 1);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
    }, () => res.writeHead(500).end());
  });
  await listen(server);
  after(() => close(server));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, answered, seen, leaked };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
