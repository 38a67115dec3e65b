/**
 * Parts for unit tests of the lifecycle wrappers, all on one FakeClock: a scripted innermost token
 * source standing in for the endpoint (it issues tokens on the fake clock and can be made to fail
 * or to hang), and "instances" that share a real MemoryTokenStore and LocalRefreshLock, as sidecars
 * share Redis.
 */
import { Registry } from 'prom-client';
import { CacheReport } from '../../src/lifecycle/cache-report.js';
import { RefreshAheadCache } from '../../src/lifecycle/cached.js';
import { CoordinatedTokenSource } from '../../src/lifecycle/coordinated.js';
import { TokenPool } from '../../src/pool/pool.js';
import { PoolSlot } from '../../src/pool/slot.js';
import { LocalRefreshLock } from '../../src/lock/local.js';
import type { RefreshLock } from '../../src/lock/lock.js';
import { createLogger } from '../../src/logging.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { MemoryTokenStore } from '../../src/store/memory.js';
import type { TokenStore } from '../../src/store/store.js';
import type { TokenRequest, TokenSource } from '../../src/token/source.js';
import type { Token } from '../../src/token/token.js';
import { FakeClock } from '../helpers/fake-clock.js';

export const LIFETIME_MS = 100_000;
export const LOCK_TTL_MS = 7_000;
export const KEY = 'lifecycle-test:{slot}:default:0';

/** What one call of a ScriptedSource does. */
export type Step = { fail: Error } | { hang: Promise<void> };

/** The innermost source: a new token per call (generation `after + 1`), unless a step says otherwise. */
export class ScriptedSource implements TokenSource {
  calls = 0;
  readonly steps: Step[] = [];
  /** Used once the steps run out: fail every call with this error. */
  failing: Error | undefined;

  constructor(
    private readonly clock: FakeClock,
    private readonly name: string,
  ) {}

  async token({ after, local }: TokenRequest): Promise<Token> {
    const n = ++this.calls;
    const step = this.steps.shift();
    if (step && 'hang' in step) await step.hang;
    if (step && 'fail' in step) throw step.fail;
    if (!step && this.failing) throw this.failing;
    const issuedAt = this.clock.now();
    return { accessToken: `${this.name}-${n}`, issuedAt, expiresAt: issuedAt + LIFETIME_MS, generation: after + 1, fetchedBy: this.name, ...(local ? { local: true } : {}) };
  }
}

/** A promise the test settles by hand: a fetch that hangs until released. */
export function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

export function quietLog() {
  return createLogger({ level: 'silent', format: 'json' });
}

export interface Instance {
  readonly name: string;
  readonly endpoint: ScriptedSource;
  readonly shared: CoordinatedTokenSource;
  readonly cache: RefreshAheadCache;
  readonly slot: PoolSlot;
  readonly metrics: Metrics;
}

/** One store and lock on one clock, and a factory of instances sharing them. */
export function fleet(opts: { store?: TokenStore; lock?: RefreshLock; clock?: FakeClock } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const store = opts.store ?? new MemoryTokenStore({ now: () => clock.now() });
  const lock = opts.lock ?? new LocalRefreshLock({ now: () => clock.now() });
  const instances: Instance[] = [];
  return {
    clock,
    store,
    lock,
    /** A sidecar instance's lifecycle of slot `slot`: scripted endpoint → coordinated → cache → slot. */
    async instance(name: string, slot = 0, key = KEY): Promise<Instance> {
      const endpoint = new ScriptedSource(clock, name);
      const metrics = createMetrics(new Registry(), { defaultMetrics: false });
      const log = quietLog();
      const shared = new CoordinatedTokenSource(endpoint, { profile: 'default', key, store, lock, clock, metrics, log, lockTtlMs: LOCK_TTL_MS });
      await shared.start();
      const report = new CacheReport('default', slot, metrics, log);
      const cache = new RefreshAheadCache(shared, { report, clock, refreshAt: 0.8, random: () => 0 });
      const instance = { name, endpoint, shared, cache, metrics, slot: new PoolSlot('default', slot, cache, clock, metrics.rateLimitCells.cell('default', slot)) };
      instances.push(instance);
      return instance;
    },
    /** Stops every instance's timers and subscriptions. */
    async stop(): Promise<void> {
      for (const { cache, shared } of instances) {
        cache.stop();
        await shared.stop();
      }
    },
  };
}

export function poolOf(slots: PoolSlot[]): TokenPool {
  return new TokenPool('default', slots);
}

/** The value of one counter/gauge sample (0 when absent). */
export async function sample(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val));
  return match?.value ?? 0;
}
