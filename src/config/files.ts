import { secretText } from './rotating-secrets.js';
import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { REPORTED, type Credential, type Io } from './io.js';
import type { Parsed } from './parsers.js';
import { parseSigningKey, withCertificate } from './signing-key.js';
import type { SigningKey } from './types.js';

/**
 * The files the configuration names, read: the profiles file as a JSON or YAML document, secret
 * files (client secret, refresh token), and the private_key_jwt key with its certificate. A file that
 * cannot be read or parsed is a problem naming the setting and the path, never quoting the content.
 */

/** A read failure as a problem may show it: the error code, never the file's content. */
function describeReadError(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

export function readParsed<T>(path: string, where: string, parse: (text: string) => Parsed<T>, io: Io): T | typeof REPORTED {
  let content: string;
  try {
    content = io.readFile(path);
  } catch (error) {
    io.report(`${where}: cannot read ${JSON.stringify(path)} (${describeReadError(error)})`);
    return REPORTED;
  }
  const parsed = parse(content);
  if (parsed.ok) return parsed.value;
  io.report(`${where}: ${JSON.stringify(path)} ${parsed.rule}`);
  return REPORTED;
}

/** Only the trailing newline(s) an editor or `echo` adds are removed; the secret is used as is. */
export function readSecretFile(path: string, where: string, io: Io): Credential {
  return readParsed(path, where, secretText, io);
}


/** The private_key_jwt key as read, like a Credential. */
export type KeyCredential = SigningKey | undefined | typeof REPORTED;

/** The key file, its key id and its certificate file as given, and how problems name each. */
export interface KeyFiles {
  readonly path: Credential;
  readonly keyId: string | undefined;
  readonly certPath: Credential;
  readonly where: { readonly file: string; readonly keyId: string; readonly cert: string };
}

/**
 * The private_key_jwt key (undefined: none given), with its certificate's thumbprints when a
 * certificate file is given. A key id or a certificate without a key is a problem: it would be
 * silently ignored.
 */
export function readKeyFile({ path, keyId, certPath, where }: KeyFiles, io: Io): KeyCredential {
  if (path === REPORTED || certPath === REPORTED) return REPORTED;
  if (path === undefined) {
    if (keyId !== undefined) io.report(`${where.keyId}: only used with a private key file (private_key_jwt)`);
    if (certPath !== undefined) io.report(`${where.cert}: only used with a private key file (private_key_jwt)`);
    return undefined;
  }
  const key = readParsed(path, where.file, (text) => parseSigningKey(text, keyId), io);
  if (key === REPORTED || certPath === undefined) return key;
  return readParsed(certPath, where.cert, (text) => withCertificate(key, text), io);
}

/**
 * The document in `path`, or undefined with the problem reported (`where` names the setting). By
 * extension; otherwise JSON, then YAML. Parser messages are not passed on: they quote the file.
 */
export function readDocument(path: string, where: string, io: Io): { ok: true; value: unknown } | undefined {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (error) {
    io.report(`${where}: cannot read ${JSON.stringify(path)} (${describeReadError(error)})`);
    return undefined;
  }
  const document = parseDocument(path, text);
  if (document.ok) return document;
  io.report(`${where}: ${JSON.stringify(path)} is ${document.rule}`);
  return undefined;
}

/** By extension; otherwise JSON, then YAML. */
function parseDocument(path: string, text: string): Parsed<unknown> {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') return parseJson(text);
  if (extension === '.yaml' || extension === '.yml') return parseYamlDocument(text);
  const json = parseJson(text);
  return json.ok ? json : parseYamlDocument(text);
}

function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const position = /at position (\d+)/.exec(String(error))?.[1];
    if (position === undefined) return { ok: false, rule: 'not valid JSON' };
    const before = text.slice(0, Number(position)).split('\n');
    return { ok: false, rule: `not valid JSON (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})` };
  }
}

function parseYamlDocument(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: parseYaml(text) };
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const at = error.linePos?.[0];
    return { ok: false, rule: `not valid YAML (${error.code}${at ? ` at line ${at.line}, column ${at.col}` : ''})` };
  }
}
