import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { REDACT_CENSOR, redactLogObject, scrubText } from '../../src/logging/redact.js';

// The log redaction behind private_key_jwt: the key and the assertions are censored by field name,
// and recognised in free text (a PEM block, a form body, anything shaped like a signed JWT).

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const body = pem.split('\n')[1]!;
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJjIn0.c2lnbmF0dXJlLXBhcnQ';

test('fields holding a private key or an assertion are censored by name', () => {
  const out = redactLogObject({ profile: { privateKey: { pkcs8: pem, alg: 'ES256' } }, form: { client_assertion: JWT }, headers: { 'x-api-key': 'k' } });
  assert.deepEqual(out, { profile: { privateKey: REDACT_CENSOR }, form: { client_assertion: REDACT_CENSOR }, headers: { 'x-api-key': REDACT_CENSOR } });
});

test('a PEM private key in text is scrubbed whole', () => {
  const text = scrubText(`could not use ${pem} for signing`);
  assert.ok(!text.includes(body), text);
  assert.match(text, /-----BEGIN PRIVATE KEY----- <redacted>\s+for signing$/);
});

test('a client assertion in a form body, and a signed JWT anywhere, are scrubbed', () => {
  const form = scrubText(`grant_type=client_credentials&client_assertion=${JWT}&client_id=c`);
  assert.equal(form, 'grant_type=client_credentials&client_assertion=<redacted>&client_id=c');
  assert.equal(scrubText(`token ${JWT} rejected`), 'token <redacted> rejected');
});
