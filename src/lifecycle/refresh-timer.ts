import type { Clock, TimerHandle } from '../token/clock.js';

/**
 * The one pending background refresh of a lifecycle, on the injected clock: scheduling again
 * replaces it, so at most one is ever pending; after `stop()` nothing is scheduled any more. The
 * timer never keeps the process alive.
 */
export class RefreshTimer {
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** When the pending refresh fires (clock ms); undefined when none is pending. */
  dueAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  /** Runs `fire` in `delayMs` (at once if negative), replacing what was pending. */
  schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.dueAt = this.clock.now() + Math.max(0, delayMs);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.dueAt = undefined;
      this.fire();
    }, Math.max(0, delayMs));
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = undefined;
  }
}
