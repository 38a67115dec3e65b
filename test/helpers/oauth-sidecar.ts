import { waitFor } from '../../src/harness/wait-for.js';
import { after } from 'node:test';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { loadConfig } from '../../src/config/load.js';
import { LocalRefreshLock } from '../../src/lock/local.js';
import { createLogger } from '../../src/logging.js';
import { buildServer, type Sidecar } from '../../src/server.js';
import { MemoryTokenStore } from '../../src/store/memory.js';

/**
 * A sidecar in this process configured the way a user would: from env settings through the
 * production loader (files it names are given in `files`, so no key touches the disk).
 */
export interface OAuthSidecar {
  readonly sidecar: Sidecar;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  /** Stops it now (its token timers too); also done after the test file. */
  close(): Promise<void>;
}

export async function startOAuthSidecar(
  env: Record<string, string>,
  opts: { files?: Record<string, string>; logStream?: { write(line: string): void }; logLevel?: string } = {},
): Promise<OAuthSidecar> {
  const config = loadConfig([], { PORT: '0', ADMIN_PORT: '0', TOKEN_TIMEOUT_MS: '3000', ...env }, (path) => {
    const content = opts.files?.[path];
    if (content === undefined) throw Object.assign(new Error(`no such test file ${path}`), { code: 'ENOENT' });
    return content;
  });
  const log = createLogger({ level: opts.logLevel ?? 'silent', format: 'json', destination: opts.logStream as never });
  const sidecar = buildServer(config, {
    log,
    backends: { store: new MemoryTokenStore(), lock: new LocalRefreshLock(), kind: 'memory' },
    registry: new Registry(),
  });
  await sidecar.start();
  const proxyUrl = await sidecar.proxy.listen({ port: 0, host: '127.0.0.1' });
  const adminUrl = await sidecar.admin.listen({ port: 0, host: '127.0.0.1' });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= sidecar.close());
  after(close);
  return { sidecar, proxyUrl, adminUrl, close };
}

/** Polls `probe` until it yields a value; fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  let value: T | undefined;
  await waitFor(async () => (value = await probe()) !== undefined, { what, timeoutMs });
  return value!;
}

export interface LoadResult {
  readonly requests: number;
  readonly byStatus: Map<number, number>;
  /** A few non-2xx bodies, to show why. */
  readonly samples: string[];
}

/** `clients` concurrent clients, each sending one request after the other for `durationMs`. */
export async function runLoad(url: string, clients: number, durationMs: number): Promise<LoadResult> {
  const agent = new Agent({ connections: clients });
  const byStatus = new Map<number, number>();
  const samples: string[] = [];
  let requests = 0;
  const end = Date.now() + durationMs;
  const client = async () => {
    while (Date.now() < end) {
      const response = await request(url, { dispatcher: agent });
      const text = await response.body.text();
      requests++;
      byStatus.set(response.statusCode, (byStatus.get(response.statusCode) ?? 0) + 1);
      if ((response.statusCode < 200 || response.statusCode > 299) && samples.length < 5) samples.push(`${response.statusCode} ${text}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: clients }, client));
  } finally {
    await agent.close();
  }
  return { requests, byStatus, samples };
}

export function non2xx(result: LoadResult): number {
  let count = 0;
  for (const [status, n] of result.byStatus) if (status < 200 || status > 299) count += n;
  return count;
}
