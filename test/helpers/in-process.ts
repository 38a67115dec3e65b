import { after } from 'node:test';
import { Registry } from 'prom-client';
import type { Config, ProfileConfig } from '../../src/config/types.js';
import { LocalRefreshLock } from '../../src/lock/local.js';
import { createLogger } from '../../src/logging.js';
import type { RefreshLock } from '../../src/lock/lock.js';
import { buildMockUpstream, type MockUpstream } from '../../src/mock/app.js';
import type { MockOptions } from '../../src/mock/options.js';
import { buildServer, type Sidecar } from '../../src/server.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import type { TokenStore } from '../../src/store/store.js';
import type { Clock } from '../../src/token/clock.js';

/** A complete Config for tests; everything a test does not care about has its production default. */
export function testConfig(
  upstreamUrl: string,
  overrides: Partial<Config> = {},
  profile: Partial<ProfileConfig> = {},
  moreProfiles: Partial<ProfileConfig>[] = [],
): Config {
  const base: ProfileConfig = {
    name: 'default',
    grant: 'client_credentials',
    clientId: 'demo-client',
    clientSecret: 'demo-secret',
    tokenUrl: `${upstreamUrl}/oauth/token`,
    upstreamUrl,
    poolSize: 1,
    ...profile,
  };
  return {
    profiles: [base, ...moreProfiles.map((more) => ({ ...base, ...more }))],
    defaultProfile: 'default',
    redisUrls: [],
    redisKeyPrefix: 'token-sidecar-test',
    host: '127.0.0.1',
    port: 0,
    adminHost: '127.0.0.1',
    adminPort: 0,
    refreshAt: 0.8,
    workers: 1,
    protectedMode: true,
    logLevel: 'silent',
    logFormat: 'json',
    upstreamTimeoutMs: 5_000,
    upstreamConnections: 64,
    tokenTimeoutMs: 2_000,
    replayBodyLimitBytes: 512_000,
    shutdownTimeoutMs: 2_000,
    ...overrides,
  };
}

export interface Rig {
  mock: MockUpstream;
  mockUrl: string;
  sidecar: Sidecar;
  proxyUrl: string;
  adminUrl: string;
  store: TokenStore;
}

/**
 * The mock upstream and a sidecar in this process, both on port 0, closed after the test file.
 * `clock` drives the mock's expiry and the sidecar's lifecycle together.
 */
export async function startRig(opts: {
  mock?: Partial<MockOptions>;
  config?: Partial<Config>;
  profile?: Partial<ProfileConfig>;
  /** Further profiles, each completing itself from the first. */
  moreProfiles?: Partial<ProfileConfig>[];
  clock?: Clock;
  store?: TokenStore;
  lock?: RefreshLock;
  logStream?: { write(line: string): void };
  logLevel?: string;
  waitForToken?: boolean;
} = {}): Promise<Rig> {
  const mock = buildMockUpstream(opts.mock ?? {}, opts.clock ? { clock: opts.clock } : {});
  const mockUrl = await mock.app.listen({ port: 0, host: '127.0.0.1' });
  const config = testConfig(mockUrl, opts.config, opts.profile, opts.moreProfiles);
  const store = opts.store ?? new MemoryTokenStore(opts.clock ? { now: () => opts.clock!.now() } : {});
  const lock = opts.lock ?? new LocalRefreshLock(opts.clock ? { now: () => opts.clock!.now() } : {});
  // The production logger (with its redaction), writing where the test asks.
  const log = createLogger({ level: opts.logLevel ?? 'silent', format: 'json', destination: opts.logStream as never });
  const sidecar = buildServer(config, { log, clock: opts.clock, backends: { store, lock, kind: 'memory' }, registry: new Registry() });
  await sidecar.start();
  const proxyUrl = await sidecar.proxy.listen({ port: 0, host: '127.0.0.1' });
  const adminUrl = await sidecar.admin.listen({ port: 0, host: '127.0.0.1' });
  after(async () => {
    await sidecar.close();
    await mock.app.close();
  });
  if (opts.waitForToken !== false) await waitUntil(() => sidecar.profiles.pool(undefined)!.ready);
  return { mock, mockUrl, sidecar, proxyUrl, adminUrl, store };
}

export async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The value of one sample of a metric on the sidecar's registry (0 when absent). */
export async function metricValue(sidecar: Sidecar, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = sidecar.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val));
  return match?.value ?? 0;
}
