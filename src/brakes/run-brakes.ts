import type { Config } from '../config/types.js';
import { formatMinute, windowClock } from '../config/test-window.js';
import { SidecarError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { Metrics, RefusalReason } from '../metrics/metrics.js';
import { haltKey, requestCountKey } from '../store/key.js';
import type { TokenStore } from '../store/store.js';
import type { Clock } from '../token/clock.js';
import { HaltSwitch } from './halt.js';
import { RequestCap } from './request-cap.js';

export interface RunBrakesDeps {
  readonly store: TokenStore;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** What GET /admin/brakes says. */
export interface BrakesStatus {
  readonly halted: boolean;
  readonly testWindow: { readonly window: string; readonly open: boolean } | null;
  readonly maxRequests: { readonly limit: number; readonly usedByFleet: number; readonly heldByThisInstance: number } | null;
}

const HALTED = new SidecarError('halted', 'the run is halted (POST /admin/halt on an instance of the fleet); every instance refuses until POST /admin/resume; the upstream was not called');

/**
 * The run's brakes, in the order a request meets them: the fleet's halt switch, TEST_WINDOW, then
 * MAX_REQUESTS (a permit is taken only by a request that may otherwise go). The proxy asks through
 * RequestGate; the admin routes halt, resume, reset the count and read the status. Each refusal is
 * counted in token_sidecar_refusals_total{reason}. Without a store shared with other instances each
 * brake holds for this process alone.
 *
 * The window is evaluated once per minute of UTC time (its edges and every zone offset are whole
 * minutes), so a request pays one comparison for it.
 */
export class RunBrakes {
  readonly haltSwitch: HaltSwitch;
  readonly cap: RequestCap | undefined;
  private readonly countKey: string;
  private readonly window: Config['testWindow'];
  private readonly windowAt: ((at: number) => { inside: boolean; localMinute: number }) | undefined;
  private windowValidUntil = 0;
  private windowOpen = true;
  private windowLocalMinute = 0;

  constructor(config: Config, private readonly deps: RunBrakesDeps) {
    const { store, clock, log } = deps;
    this.haltSwitch = new HaltSwitch(store, haltKey(config.redisKeyPrefix), clock, log);
    this.countKey = requestCountKey(config.redisKeyPrefix);
    this.cap = config.maxRequests === undefined ? undefined : new RequestCap({ store, key: this.countKey, limit: config.maxRequests, clock, log });
    this.window = config.testWindow;
    this.windowAt = config.testWindow === undefined ? undefined : windowClock(config.testWindow);
  }

  admit(): SidecarError | null | Promise<SidecarError | null> {
    if (this.haltSwitch.halted) return this.refuse('halted', HALTED);
    if (this.windowAt !== undefined && !this.insideWindow()) return this.refuse('outside_test_window', this.outsideWindow());
    const cap = this.cap;
    if (cap === undefined) return null;
    const taken = cap.take();
    if (taken === true) return null;
    if (taken === false) return this.refuse('request_cap', cap.refusal());
    return taken.then((ok) => (ok ? null : this.refuse('request_cap', cap.refusal())));
  }

  mayReplay(): boolean {
    if (this.cap === undefined || this.cap.takeNow()) return true;
    this.deps.metrics.refusals.inc({ reason: 'request_cap' });
    return false;
  }

  halt(): Promise<void> {
    return this.haltSwitch.set(true);
  }

  resume(): Promise<void> {
    return this.haltSwitch.set(false);
  }

  /** A new run's count: every instance picks it up within CAP_RECHECK_MS of its next request. */
  async resetRequests(): Promise<void> {
    if (this.cap === undefined) return;
    await this.deps.store.resetRequests(this.countKey);
    this.cap.forget();
  }

  status(): BrakesStatus {
    return {
      halted: this.haltSwitch.halted,
      testWindow: this.window === undefined ? null : { window: this.window.text, open: this.insideWindow() },
      maxRequests: this.cap === undefined ? null : { limit: this.cap.limit, usedByFleet: this.cap.usedByFleet, heldByThisInstance: this.cap.held },
    };
  }

  /** Reads the halt record and reserves the first block before the proxy listens. */
  async start(): Promise<void> {
    await Promise.all([this.haltSwitch.start(), this.cap?.start()]);
  }

  stop(): void {
    this.haltSwitch.stop();
  }

  private insideWindow(): boolean {
    const now = this.deps.clock.now();
    if (now >= this.windowValidUntil) {
      const { inside, localMinute } = this.windowAt!(now);
      this.windowOpen = inside;
      this.windowLocalMinute = localMinute;
      this.windowValidUntil = now - (now % 60_000) + 60_000;
    }
    return this.windowOpen;
  }

  private outsideWindow(): SidecarError {
    const { text, timeZone } = this.window!;
    return new SidecarError('outsideTestWindow', `outside the test window ${text} (TEST_WINDOW): it is ${formatMinute(this.windowLocalMinute)} in ${timeZone}; the upstream was not called`);
  }

  private refuse(reason: RefusalReason, error: SidecarError): SidecarError {
    this.deps.metrics.refusals.inc({ reason });
    return error;
  }
}
