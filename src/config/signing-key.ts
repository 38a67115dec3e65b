import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { broken, ok, type Parsed } from './parsers.js';
import type { SigningKey } from './types.js';

/**
 * The private_key_jwt key file, read at start: PEM (PKCS#8, PKCS#1 or SEC1) or a JWK, unencrypted.
 * Parsing is Node's own key import (synchronous, so a bad key is one more start-up problem); the
 * result is PKCS#8 PEM, which jose imports and signs with at token-request time.
 *
 * The algorithm follows from the key, so it cannot disagree with what the provider registered:
 * RSA signs RS256 (2048 bits or more), unless the JWK names `alg: PS256`; EC signs ES256 and must be
 * on P-256. A PEM of the RSA-PSS key type is refused with a way out: WebCrypto, which jose signs
 * with, imports only plain RSA keys (an RSA key signs PS256 just as well). Problems never quote the
 * file (it holds the key).
 */
type Alg = SigningKey['alg'];

export function parseSigningKey(text: string, keyId: string | undefined): Parsed<SigningKey> {
  const trimmed = text.trim();
  let key: KeyObject;
  let jwkAlg: unknown;
  let jwkKid: unknown;
  if (trimmed.startsWith('{')) {
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      return broken('is neither a PEM private key nor valid JSON (JWK)');
    }
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return broken('is JSON but not a JWK object');
    if (typeof jwk.d !== 'string') return broken('is a JWK without its private part ("d"): the private key is needed');
    try {
      key = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } catch {
      return broken('is not a usable RSA or EC private JWK');
    }
    jwkAlg = jwk.alg;
    jwkKid = jwk.kid;
  } else {
    if (/ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(trimmed)) return broken('is an encrypted key; give it unencrypted (file mode 0600)');
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) return broken('is neither a PEM private key nor a JWK');
    try {
      key = createPrivateKey(trimmed);
    } catch {
      return broken('is not a usable PEM private key');
    }
  }
  const alg = algorithmOf(key, jwkAlg);
  if (!alg.ok) return alg;
  const kid = keyId ?? (typeof jwkKid === 'string' && jwkKid !== '' ? jwkKid : undefined);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { ok: true, value: { pkcs8, alg: alg.value, ...(kid !== undefined && { kid }) } };
}

function algorithmOf(key: KeyObject, jwkAlg: unknown): Parsed<Alg> {
  const details = key.asymmetricKeyDetails ?? {};
  if (jwkAlg !== undefined && jwkAlg !== 'RS256' && jwkAlg !== 'PS256' && jwkAlg !== 'ES256') {
    return broken(`names alg ${JSON.stringify(jwkAlg)}; the sidecar signs RS256, PS256 or ES256`);
  }
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      if ((details.modulusLength ?? 0) < 2048) return broken('is an RSA key shorter than 2048 bits');
      const alg = (jwkAlg as Alg | undefined) ?? 'RS256';
      return alg === 'ES256' ? broken('is an RSA key but names alg ES256') : ok(alg);
    }
    case 'rsa-pss':
      return broken('is an RSA-PSS key; for PS256 give a plain RSA key as a JWK with "alg": "PS256"');
    case 'ec':
      if (details.namedCurve !== 'prime256v1') return broken('is an EC key not on P-256 (ES256 needs P-256)');
      return jwkAlg === undefined || jwkAlg === 'ES256' ? ok('ES256') : broken(`is an EC key but names alg ${String(jwkAlg)}`);
    default:
      return broken(`is a ${key.asymmetricKeyType ?? 'unknown'} key; RSA or EC P-256 is needed`);
  }
}

/**
 * The key's certificate (PEM), for providers that find the key by its thumbprint rather than a kid
 * (Entra ID). It must be the certificate of this very key: a mismatch would only show up later as
 * the provider's `invalid_client`.
 */
export function withCertificate(key: SigningKey, text: string): Parsed<SigningKey> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(text);
  } catch {
    return broken('is not a PEM X.509 certificate');
  }
  if (!cert.checkPrivateKey(createPrivateKey(key.pkcs8))) return broken('is the certificate of another key than the private key');
  return ok({
    ...key,
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
  });
}

