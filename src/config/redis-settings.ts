import { createSecureContext } from 'node:tls';
import { readParsed } from './files.js';
import { REPORTED, type Io } from './io.js';
import { SecretFile } from './secret-file.js';
import { settingLabel as label, type Parsed, type SettingName, type SettingValue } from './settings.js';
import type { CurrentValue, RedisSettings } from './types.js';

/**
 * The Redis settings as one `RedisSettings` (types.ts): which mode, TLS, user and password. Every
 * combination that cannot work is a problem named at start (exit 2): two modes at once, a sentinel
 * setting without sentinels, TLS files without TLS, a certificate without its key, a password in the
 * URL and in a file. TLS files are read and checked here (a PEM that is not one, a key that does not
 * match its certificate); whether the server's certificate chains to the CA can only be learnt by
 * connecting, which the start-up check does (src/compose.ts).
 */

/** What this reader needs of the settings reader in load.ts. */
export interface RedisSettingSource {
  isSet(name: SettingName): boolean;
  value<N extends SettingName>(name: N): SettingValue<N> | undefined;
}

const MODE_SETTINGS = ['redis', 'redisSentinels', 'redisCluster'] as const;
const SENTINEL_ONLY = ['redisSentinelName', 'redisSentinelPassword', 'redisSentinelTls'] as const;
const ANY_MODE = ['redisUsername', 'redisPasswordFile', 'redisTls', 'redisTlsCaFile', 'redisTlsCertFile', 'redisTlsKeyFile', 'redisTlsServername'] as const;
const TLS_FILES = ['redisTlsCaFile', 'redisTlsCertFile', 'redisTlsKeyFile', 'redisTlsServername'] as const;

export function readRedisSettings(settings: RedisSettingSource, io: Io): RedisSettings | undefined {
  // REDIS_URL=`,` is a list of no nodes: the memory store, as before.
  const modes = MODE_SETTINGS.filter((name) => settings.isSet(name) && (name !== 'redis' || (settings.value('redis') ?? []).length > 0));
  if (modes.length > 1) {
    io.report(`${modes.map(label).join(' and ')}: give one (a list of nodes, Sentinel or Cluster), not ${modes.length === 2 ? 'both' : 'several'}`);
    return undefined;
  }
  const mode = modes[0];
  if (mode !== 'redisSentinels') {
    for (const name of SENTINEL_ONLY) if (settings.isSet(name)) io.report(`${label(name)}: only used with ${label('redisSentinels')}`);
  }
  if (mode !== 'redisCluster' && settings.isSet('redisClusterNatMap')) {
    io.report(`${label('redisClusterNatMap')}: only used with ${label('redisCluster')}`);
  }
  if (mode === undefined) {
    for (const name of ANY_MODE) if (settings.isSet(name)) io.report(`${label(name)}: only used with a Redis store (${label('redis')}, ${label('redisSentinels')} or ${label('redisCluster')})`);
    return undefined;
  }

  const urls = settings.value('redis') ?? [];
  const cluster = settings.value('redisCluster');
  // What the mode's own addresses say about TLS and credentials. Independent nodes may mix redis://
  // and rediss://: TLS (and its files) then applies to the rediss:// ones.
  const urlSchemes = new Set(urls.map((url) => new URL(url).protocol));
  const addressesSayTls = mode === 'redis' ? urlSchemes.has('rediss:') : mode === 'redisCluster' ? cluster?.tls === true : undefined;
  const tlsSetting = settings.value('redisTls');
  if (tlsSetting === false && addressesSayTls) io.report(`${label('redisTls')}: off, but ${label(mode)} names rediss:// nodes`);
  if (tlsSetting === true && addressesSayTls === false) io.report(`${label('redisTls')}: on, but ${label(mode)} names redis:// nodes (use rediss://)`);
  const tlsOn = addressesSayTls ?? tlsSetting ?? false;
  const sentinelTls = settings.value('redisSentinelTls') ?? tlsOn;
  if (!tlsOn && !sentinelTls) {
    for (const name of TLS_FILES) if (settings.isSet(name)) io.report(`${label(name)}: only used with TLS (rediss:// or ${label('redisTls')}=on)`);
  }

  const urlUsers = urls.filter((url) => new URL(url).username !== '');
  const urlPasswords = urls.filter((url) => new URL(url).password !== '');
  if (settings.isSet('redisUsername') && (urlUsers.length > 0 || cluster?.username !== undefined)) {
    io.report(`${label('redisUsername')}: the URL already names a user; give one of them`);
  }
  const passwordFile = settings.value('redisPasswordFile');
  if (passwordFile !== undefined && (urlPasswords.length > 0 || cluster?.password !== undefined)) {
    io.report(`${label('redisPasswordFile')}: the URL already holds a password; give one of them`);
  }

  const certFile = settings.value('redisTlsCertFile');
  const keyFile = settings.value('redisTlsKeyFile');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    io.report(certFile === undefined
      ? `${label('redisTlsKeyFile')}: needs ${label('redisTlsCertFile')} (mutual TLS takes both)`
      : `${label('redisTlsCertFile')}: needs ${label('redisTlsKeyFile')} (mutual TLS takes both)`);
  }
  const ca = pemFile(settings, 'redisTlsCaFile', 'CERTIFICATE', io);
  const cert = pemFile(settings, 'redisTlsCertFile', 'CERTIFICATE', io);
  const key = pemFile(settings, 'redisTlsKeyFile', 'PRIVATE KEY', io);
  if (cert && key && cert !== REPORTED && key !== REPORTED) checkKeyPair(cert.current, key.current, io);
  const password = passwordFile === undefined ? undefined : secretFile(passwordFile, 'redisPasswordFile', io);
  if (ca === REPORTED || cert === REPORTED || key === REPORTED || password === REPORTED) return undefined;

  const servername = settings.value('redisTlsServername');
  const tls = tlsOn || sentinelTls
    ? { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), ...(servername !== undefined && { servername }) }
    : undefined;
  const username = settings.value('redisUsername') ?? cluster?.username;
  const shared = {
    ...(tlsOn && tls && { tls }),
    ...(username !== undefined && { username }),
    ...(password !== undefined ? { password } : cluster?.password !== undefined ? { password: fixed(cluster.password) } : {}),
  };
  switch (mode) {
    case 'redis':
      return { target: { mode: 'nodes', urls }, ...shared };
    case 'redisCluster': {
      const natMap = settings.value('redisClusterNatMap');
      return { target: { mode: 'cluster', seeds: cluster?.seeds ?? [], ...(natMap && { natMap }) }, ...shared };
    }
    case 'redisSentinels': {
      const name = settings.value('redisSentinelName');
      if (name === undefined) {
        io.report(`${label('redisSentinelName')}: required with ${label('redisSentinels')} (the name in "sentinel monitor <name> …")`);
        return undefined;
      }
      const sentinelPassword = settings.value('redisSentinelPassword');
      return {
        target: {
          mode: 'sentinel',
          sentinels: settings.value('redisSentinels') ?? [],
          name,
          ...(sentinelPassword !== undefined && { sentinelPassword }),
          // The same CA and client certificate serve the sentinels.
          ...(sentinelTls && tls && { sentinelTls: tls }),
        },
        ...shared,
      };
    }
  }
}

function fixed(value: string): CurrentValue<string> {
  return { current: value };
}

const PEM_BLOCK = (kind: string) => new RegExp(`-----BEGIN [A-Z0-9 ]*${kind}-----[\\s\\S]+?-----END [A-Z0-9 ]*${kind}-----`);

/** A PEM file of `kind` (CERTIFICATE, PRIVATE KEY), as a SecretFile; problems name the setting and file, never the content. */
function pemFile(settings: RedisSettingSource, name: 'redisTlsCaFile' | 'redisTlsCertFile' | 'redisTlsKeyFile', kind: string, io: Io): SecretFile<string> | undefined | typeof REPORTED {
  const path = settings.value(name);
  if (path === undefined) return undefined;
  const parse = (text: string): Parsed<string> =>
    PEM_BLOCK(kind).test(text)
      ? { ok: true, value: text }
      : { ok: false, rule: /ENCRYPTED/.test(text) ? 'is an encrypted key; give it unencrypted (file mode 0600)' : `holds no PEM ${kind.toLowerCase()}` };
  const initial = readParsed(path, label(name), parse, io);
  return initial === REPORTED ? REPORTED : new SecretFile(path, label(name), parse, initial);
}

function secretFile(path: string, name: 'redisPasswordFile', io: Io): SecretFile<string> | typeof REPORTED {
  const parse = (text: string): Parsed<string> => {
    const secret = text.replace(/(\r?\n)+$/, '');
    return secret !== '' ? { ok: true, value: secret } : { ok: false, rule: 'is empty' };
  };
  const initial = readParsed(path, label(name), parse, io);
  return initial === REPORTED ? REPORTED : new SecretFile(path, label(name), parse, initial);
}

/** Node's own check: a key that does not belong to the certificate would fail every handshake. */
function checkKeyPair(cert: string, key: string, io: Io): void {
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' || /mismatch/i.test(String(error))
      ? `does not belong to the certificate in ${label('redisTlsCertFile')}`
      : `cannot be used with the certificate in ${label('redisTlsCertFile')} (${(error as NodeJS.ErrnoException).code ?? 'unusable'})`;
    io.report(`${label('redisTlsKeyFile')}: ${reason}`);
  }
}
