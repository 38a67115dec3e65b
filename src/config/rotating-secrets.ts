import { readFileSync } from 'node:fs';
import { readFromFile, SecretFile } from './secret-file.js';
import type { Parsed } from './settings.js';
import { parseSigningKey, withCertificate } from './signing-key.js';
import type { ProfileConfig } from './types.js';

/**
 * Which of a profile's credentials came from files, so they follow the files when they are replaced
 * (secret-file.ts). Paths are as the loader read them; `where` names the setting in reports.
 */
export interface CredentialFiles {
  clientSecret?: { readonly path: string; readonly where: string };
  refreshToken?: { readonly path: string; readonly where: string };
  privateKey?: { readonly path: string; readonly where: string; readonly keyId?: string; readonly certPath?: string };
}

/** The secret-file rule of readSecretFile (profiles.ts): trailing newlines dropped, empty refused. */
export function secretText(content: string): Parsed<string> {
  const secret = content.replace(/(\r?\n)+$/, '');
  return secret !== '' ? { ok: true, value: secret } : { ok: false, rule: 'is empty' };
}

/**
 * Turns each credential of `profile` that came from a file into a getter over that file, so a token
 * request reads the value current at request time. Called before the configuration is frozen; the
 * getters survive freezing. With no files it returns the profile unchanged.
 */
export function followCredentialFiles(profile: ProfileConfig, files: CredentialFiles | undefined): ProfileConfig {
  if (files === undefined) return profile;
  const { clientSecret, refreshToken, privateKey } = files;
  if (clientSecret && profile.clientSecret !== undefined) {
    readFromFile(profile, 'clientSecret', new SecretFile(clientSecret.path, clientSecret.where, secretText, profile.clientSecret));
  }
  if (refreshToken && profile.refreshToken !== undefined) {
    readFromFile(profile, 'refreshToken', new SecretFile(refreshToken.path, refreshToken.where, secretText, profile.refreshToken));
  }
  if (privateKey && profile.privateKey !== undefined) {
    // The certificate is read with its key: a Secret swaps both files together.
    const parse = (text: string) => {
      const key = parseSigningKey(text, privateKey.keyId);
      if (!key.ok || privateKey.certPath === undefined) return key;
      try {
        return withCertificate(key.value, readFileSync(privateKey.certPath, 'utf8'));
      } catch {
        return { ok: false, rule: 'has a certificate file that cannot be read' } as const;
      }
    };
    readFromFile(profile, 'privateKey', new SecretFile(privateKey.path, privateKey.where, parse, profile.privateKey));
  }
  return profile;
}
