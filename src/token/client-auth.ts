import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT, type CryptoKey } from 'jose';

/**
 * Client authentication at the token endpoint (RFC 6749 §2.3.1, RFC 7523 §2.2): what one token
 * request carries to prove the client, as headers and form fields, plus the values that must never
 * leave this request (for scrubbing the endpoint's error text).
 */
export const TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type TokenAuthMethod = (typeof TOKEN_AUTH_METHODS)[number];

/**
 * The private key of private_key_jwt, checked and converted at start (config/signing-key.ts) so a bad
 * key stops the sidecar before it serves. Plain data, so the config stays freezable and printable to
 * nothing but this type. Secret: never log or expose.
 */
export interface SigningKey {
  /** Unencrypted PKCS#8 PEM, whatever form the file had. */
  readonly pkcs8: string;
  readonly alg: 'RS256' | 'PS256' | 'ES256';
  /** The assertion's `kid` header. */
  readonly kid?: string;
  /**
   * Thumbprints of the key's X.509 certificate (OAUTH_CERT_FILE), sent as the `x5t#S256` (SHA-256)
   * and `x5t` (SHA-1) headers: Entra ID finds the key by them.
   */
  readonly x5tS256?: string;
  readonly x5t?: string;
}

export interface ClientAuthentication {
  readonly tokenAuth?: TokenAuthMethod;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly privateKey?: SigningKey;
}

export interface ClientProof {
  readonly headers: Record<string, string>;
  readonly fields: ReadonlyArray<readonly [string, string]>;
  /** Secrets this request carries: scrubbed from whatever the endpoint answers. */
  readonly secrets: readonly string[];
}

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Long enough for a slow endpoint and some clock skew, short enough that a leaked one is soon useless. */
const ASSERTION_LIFETIME_S = 60;

export async function clientProof(client: ClientAuthentication): Promise<ClientProof> {
  // An empty secret is a public client (login's PKCE grant, RFC 6749 §2.1): it only names itself.
  if (client.clientSecret === '' && client.tokenAuth !== 'private_key_jwt') {
    return { headers: {}, fields: [['client_id', client.clientId]], secrets: [] };
  }
  switch (client.tokenAuth ?? 'client_secret_basic') {
    case 'client_secret_basic': {
      const secret = requireSecret(client);
      // Genesys takes id:secret as is; ids and secrets of URL-safe characters read the same either way.
      const basic = Buffer.from(`${client.clientId}:${secret}`).toString('base64');
      return { headers: { authorization: `Basic ${basic}` }, fields: [], secrets: [secret, basic] };
    }
    case 'client_secret_post': {
      const secret = requireSecret(client);
      return { headers: {}, fields: [['client_id', client.clientId], ['client_secret', secret]], secrets: [secret] };
    }
    case 'private_key_jwt': {
      if (client.privateKey === undefined) throw new Error('private_key_jwt needs a private key');
      // RFC 7523 §3 for client authentication: iss = sub = the client id, aud = the token endpoint.
      const assertion = await signAssertion(client.privateKey, { issuer: client.clientId, subject: client.clientId, audience: client.tokenUrl });
      return {
        headers: {},
        // client_id is optional by RFC 7523 but required by Entra ID; every provider accepts it.
        fields: [['client_id', client.clientId], ['client_assertion_type', JWT_BEARER_ASSERTION], ['client_assertion', assertion]],
        secrets: [assertion],
      };
    }
  }
}

function requireSecret(client: ClientAuthentication): string {
  if (client.clientSecret === undefined) throw new Error(`${client.tokenAuth ?? 'client_secret_basic'} needs a client secret`);
  return client.clientSecret;
}

/**
 * One import per key and algorithm for the life of the process: the PEM is parsed once, not per
 * token request. The algorithm is part of the entry: a WebCrypto key is bound to one.
 */
const imported = new Map<string, Promise<CryptoKey>>();

/** The claims that say who signs, about whom, for whom (RFC 7523 §3). */
export interface AssertionClaims {
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
}

/**
 * A JWT signed with `key` for one token request (RFC 7523 §3): the given iss, sub and aud, a unique
 * jti (providers refuse a replayed one) and a short exp. private_key_jwt's client assertion and the
 * JWT bearer grant's assertion both are one; a new one for every request, retries included.
 */
export async function signAssertion(key: SigningKey, claims: AssertionClaims): Promise<string> {
  const entry = `${key.alg}\n${key.pkcs8}`;
  let importing = imported.get(entry);
  if (importing === undefined) {
    importing = importPKCS8(key.pkcs8, key.alg);
    imported.set(entry, importing);
    importing.catch(() => imported.delete(entry));
  }
  // Wall-clock time on purpose, not the injected Clock: the provider checks these claims against its own clock.
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({
      alg: key.alg,
      typ: 'JWT',
      ...(key.kid !== undefined && { kid: key.kid }),
      ...(key.x5tS256 !== undefined && { 'x5t#S256': key.x5tS256 }),
      ...(key.x5t !== undefined && { x5t: key.x5t }),
    })
    .setIssuer(claims.issuer)
    .setSubject(claims.subject)
    .setAudience(claims.audience)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ASSERTION_LIFETIME_S)
    .sign(await importing);
}
