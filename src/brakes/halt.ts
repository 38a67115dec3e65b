import type { Logger } from '../logging.js';
import type { TokenStore } from '../store/store.js';
import type { Clock, TimerHandle } from '../token/clock.js';

/**
 * How often an instance reads the fleet's halt record: a halt on any instance stops all within this
 * and one store round trip, so within a second. Two GETs a second per instance: next to the proxied
 * requests of a load test, far below the one Redis command per thousand requests the design allows.
 */
export const HALT_POLL_MS = 500;

/**
 * The fleet's halt switch (POST /admin/halt, /admin/resume) as one instance sees it: the record in
 * the shared store (TokenStore.getHalt), read every HALT_POLL_MS, and set at once locally when this
 * instance is the one asked. A store that cannot be read leaves the last known state (a halt stays a
 * halt). `halted` is a plain field: the request path reads it without a call.
 *
 * A read that started before a local set is ignored when it lands, so it cannot undo that set.
 */
export class HaltSwitch {
  halted = false;
  private timer: TimerHandle | undefined;
  private running = false;
  /** Bumped by every local set: a read begun under an older value is stale. */
  private sets = 0;

  constructor(
    private readonly store: TokenStore,
    private readonly key: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Reads the record once, then polls it until stop(). */
  async start(): Promise<void> {
    this.running = true;
    await this.poll();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Sets the fleet's record; this instance follows at once. Rejects when the store cannot be written. */
  async set(halted: boolean): Promise<void> {
    this.sets++;
    this.halted = halted;
    await this.store.setHalt(this.key, { halted, at: this.clock.now() });
    this.log.warn({ halted }, halted ? 'halted: every instance on the store refuses requests until POST /admin/resume' : 'resumed: requests reach the upstream again');
  }

  private async poll(): Promise<void> {
    const sets = this.sets;
    try {
      const record = await this.store.getHalt(this.key);
      if (sets === this.sets) {
        const halted = record?.halted ?? false;
        if (halted !== this.halted) this.log.warn({ halted }, halted ? 'halted by another instance' : 'resumed by another instance');
        this.halted = halted;
      }
    } catch {
      // Keep the last known state; the store's own availability log says it is down.
    }
    if (this.running) {
      this.timer = this.clock.setTimeout(() => void this.poll(), HALT_POLL_MS);
      this.timer.unref?.();
    }
  }
}
