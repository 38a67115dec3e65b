import { after } from 'node:test';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import type { Config, ProfileConfig } from '../../src/config/types.js';
import { LocalRefreshLock } from '../../src/lock/local.js';
import { createLogger } from '../../src/logging.js';
import type { RefreshLock } from '../../src/lock/lock.js';
import { buildMockUpstream, type MockUpstream } from '../../src/mock/app.js';
import type { MockOptions } from '../../src/mock/options.js';
import { buildServer, type Sidecar } from '../../src/server.js';
import { waitFor } from '../../src/harness/wait-for.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import type { TokenStore } from '../../src/store/store.js';
import type { Clock } from '../../src/token/clock.js';

/**
 * A complete Config for tests, parsed by the production loader so every setting a test does not
 * name keeps its production default; the settings below are test-friendly (ports 0, short timeouts).
 */
export function testConfig(
  upstreamUrl: string,
  overrides: Partial<Config> = {},
  profile: Partial<ProfileConfig> = {},
  moreProfiles: Partial<ProfileConfig>[] = [],
): Config {
  const defaults = loadConfig([], {
    GENESYSCLOUD_OAUTHCLIENT_ID: 'demo-client',
    GENESYSCLOUD_OAUTHCLIENT_SECRET: 'demo-secret',
    UPSTREAM_URL: upstreamUrl,
    TOKEN_URL: `${upstreamUrl}/oauth/token`,
    PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: 'token-sidecar-test',
    UPSTREAM_TIMEOUT_MS: '5000',
    UPSTREAM_CONNECTIONS: '64',
    TOKEN_TIMEOUT_MS: '2000',
    SHUTDOWN_TIMEOUT_MS: '2000',
  });
  const base: ProfileConfig = { ...defaults.profiles[0]!, ...profile };
  return { ...defaults, profiles: [base, ...moreProfiles.map((more) => ({ ...base, ...more }))], ...overrides };
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
  /** Called before the mock listens, when hooks can still be added (e.g. one holding a route). */
  beforeMockListens?: (mock: MockUpstream) => void;
} = {}): Promise<Rig> {
  const mock = buildMockUpstream(opts.mock ?? {}, opts.clock ? { clock: opts.clock } : {});
  opts.beforeMockListens?.(mock);
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

/** Waits until `condition` holds, checking every 5 ms (the shared poll loop of src/harness/wait-for.ts). */
export async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  await waitFor(condition, { timeoutMs, intervalMs: 5 });
}

/** The value of one sample of a metric on the sidecar's registry (0 when absent). */
export async function metricValue(sidecar: Sidecar, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = sidecar.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val));
  return match?.value ?? 0;
}
