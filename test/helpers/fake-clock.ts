import type { Clock, TimerHandle } from '../../src/token/clock.js';

/**
 * A clock tests drive by hand: `advance(ms)` moves time and runs the timers that fall due, in order,
 * letting promise callbacks settle between them. Nothing sleeps.
 */
export class FakeClock implements Clock {
  private time: number;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  /** The time the clock was made with. */
  readonly start: number;

  constructor(start = 1_700_000_000_000) {
    this.time = start;
    this.start = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.time + Math.max(0, ms), fn, id: this.nextId++ };
    this.timers.push(timer);
    return { id: timer.id, unref() {} } as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** Moves time forward by `ms`, firing due timers one at a time. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    this.time = end;
    await settle();
  }

  /** Moves forward to `elapsedMs` after the clock's start (never backwards), firing due timers like advance(). */
  async advanceTo(elapsedMs: number): Promise<void> {
    const target = this.start + elapsedMs;
    if (target < this.time) throw new Error(`FakeClock cannot go back to ${elapsedMs} ms after its start (now ${this.time - this.start})`);
    await this.advance(target - this.time);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
