/**
 * The start-up check: one connection to each address the settings name, to tell a setting that can
 * never work (a certificate that does not chain to the CA, a name it does not carry, a refused client
 * certificate, a server that does not speak TLS, a refused password) from Redis merely being down.
 * The first kind stops the sidecar at start with the setting named; the second does not (the sidecar
 * serves from memory and connects when Redis comes up, as always).
 *
 * Every address is probed at once, each bounded by the connect timeout plus one PING.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { COMMAND_TIMEOUT_MS, CONNECT_TIMEOUT_MS, nodeLabel } from './client.js';
import { hostPort, NO_CLIENT_INFO, tlsOptions, type RedisConnection, type RedisTls } from './connections.js';

export type ProbeFailureKind =
  /** The server's certificate does not chain to the CA given (or to Node's CAs). */
  | 'tls-untrusted'
  /** It chains, but does not name the host (or REDIS_TLS_SERVERNAME). */
  | 'tls-name'
  | 'tls-expired'
  /** The server refused our client certificate, or wants one and got none. */
  | 'tls-client-certificate'
  /** A TLS handshake met a plain-text server. */
  | 'not-tls'
  /** The password or user was refused. */
  | 'auth';

export interface ProbeFailure {
  /** `host:port`, or `sentinel host:port`: never credentials. */
  readonly endpoint: string;
  readonly kind: ProbeFailureKind;
  /** The TLS or Redis error code (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `WRONGPASS`). */
  readonly code: string;
  /** Which TLS connection failed: to the data nodes or to the sentinels. */
  readonly to: 'data' | 'sentinel';
}

export async function probeConnection(connection: RedisConnection): Promise<ProbeFailure[]> {
  const { target } = connection;
  const probes: Promise<ProbeFailure | undefined>[] = [];
  const secrets = {
    ...(connection.username !== undefined && { username: connection.username }),
    ...(connection.password && { password: connection.password.current }),
  };
  switch (target.mode) {
    case 'nodes':
      for (const url of target.urls) {
        const parsed = new URL(url);
        const tls = url.startsWith('rediss:') ? (connection.tls ?? {}) : undefined;
        const own = { ...(parsed.username && { username: decodeURIComponent(parsed.username) }), ...(parsed.password && { password: decodeURIComponent(parsed.password) }) };
        probes.push(probeOne(nodeLabel(url), 'data', { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379), ...secrets, ...own }, tls));
      }
      break;
    case 'cluster':
      for (const seed of target.seeds) probes.push(probeOne(hostPort(seed), 'data', { ...seed, ...secrets }, connection.tls));
      break;
    case 'sentinel':
      for (const sentinel of target.sentinels) {
        const auth = target.sentinelPassword === undefined ? {} : { password: target.sentinelPassword };
        probes.push(probeOne(`sentinel ${hostPort(sentinel)}`, 'sentinel', { ...sentinel, ...auth }, target.sentinelTls));
      }
      break;
  }
  const failures = (await Promise.all(probes)).filter((failure) => failure !== undefined);
  if (target.mode === 'sentinel' && failures.length === 0) {
    // The sentinels answer: ask them for the primary and probe it as the store will reach it.
    const primary = await primaryOf(connection);
    if (primary) failures.push(...[await probeOne(primary, 'data', { host: primary.slice(0, primary.lastIndexOf(':')), port: Number(primary.slice(primary.lastIndexOf(':') + 1)), ...secrets }, connection.tls)].filter((f) => f !== undefined));
  }
  return failures;
}

async function primaryOf(connection: RedisConnection): Promise<string | undefined> {
  const { target } = connection;
  if (target.mode !== 'sentinel') return undefined;
  for (const sentinel of target.sentinels) {
    const client = new Redis({
      ...oneAttempt,
      host: sentinel.host,
      port: sentinel.port,
      ...(target.sentinelPassword !== undefined && { password: target.sentinelPassword }),
      ...(target.sentinelTls && { tls: tlsOptions(target.sentinelTls) }),
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const answer = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', target.name)) as [string, string] | null;
      if (answer) return `${answer[0]}:${answer[1]}`;
    } catch {
      // the next sentinel may know
    } finally {
      client.disconnect();
    }
  }
  return undefined;
}

const oneAttempt: RedisOptions = {
  lazyConnect: true,
  connectTimeout: CONNECT_TIMEOUT_MS,
  commandTimeout: COMMAND_TIMEOUT_MS,
  retryStrategy: () => null,
  maxRetriesPerRequest: 0,
  enableReadyCheck: false,
  ...NO_CLIENT_INFO,
};

async function probeOne(endpoint: string, to: 'data' | 'sentinel', options: RedisOptions, tls: RedisTls | undefined): Promise<ProbeFailure | undefined> {
  const client = new Redis({ ...oneAttempt, ...options, ...(tls && { tls: tlsOptions(tls) }) });
  let firstError: Error | undefined;
  client.on('error', (error: Error) => {
    firstError ??= error;
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    const kind = classify(firstError ?? (error as Error)) ?? classify(error as Error);
    return kind && { endpoint, to, ...kind };
  } finally {
    client.disconnect();
  }
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
]);

/** A setting's fault, or undefined for what may pass (a refused or timed-out connection: Redis is down). */
function classify(error: Error): { kind: ProbeFailureKind; code: string } | undefined {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = error.message ?? '';
  if (UNTRUSTED.has(code)) return { kind: 'tls-untrusted', code };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { kind: 'tls-name', code };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { kind: 'tls-expired', code };
  if (/ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|DECRYPT_ERROR|HANDSHAKE_FAILURE)/.test(code) || /alert (certificate required|bad certificate|unknown ca|certificate unknown)/i.test(message)) {
    return { kind: 'tls-client-certificate', code: code || 'tls alert' };
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(message)) return { kind: 'not-tls', code: code || 'EPROTO' };
  const redisCode = /^(WRONGPASS|NOAUTH|NOPERM)\b/.exec(message)?.[1];
  if (redisCode) return { kind: 'auth', code: redisCode };
  return undefined;
}
