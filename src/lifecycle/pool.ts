import type { Token } from '../token/token.js';
import type { Lease, LeasePool } from './lease.js';
import type { PoolSlot, SlotStatus } from './slot.js';

/**
 * Which slot serves the next request. The pool asks it on every request, so `lease` must be
 * synchronous and allocation-free; `next` picks the slot a waiting request waits on.
 */
export interface SlotChooser {
  lease(slots: readonly PoolSlot[]): Lease | undefined;
  next(slots: readonly PoolSlot[]): PoolSlot;
}

/** Round-robin over the slots that hold a valid token; a slot without one is skipped. */
export class RoundRobin implements SlotChooser {
  private cursor = 0;

  lease(slots: readonly PoolSlot[]): Lease | undefined {
    const count = slots.length;
    for (let i = 0; i < count; i++) {
      const lease = slots[(this.cursor + i) % count]!.lease();
      if (lease) {
        this.cursor = (this.cursor + i + 1) % count;
        return lease;
      }
    }
    return undefined;
  }

  next(slots: readonly PoolSlot[]): PoolSlot {
    const slot = slots[this.cursor % slots.length]!;
    this.cursor = (this.cursor + 1) % slots.length;
    return slot;
  }
}

/**
 * The tokens of one credential profile: TOKEN_POOL_SIZE independent slots, each its own token
 * lifecycle, so a run gets pool-size × Genesys's per-token rate limit (300 requests/minute each,
 * docs/genesys.md §5). The chooser decides which slot serves a request (round-robin today).
 * Single-threaded: the chooser's state needs no guarding.
 */
export class TokenPool implements LeasePool {
  constructor(
    readonly profile: string,
    private readonly slots: readonly PoolSlot[],
    private readonly chooser: SlotChooser = new RoundRobin(),
  ) {}

  lease(): Lease | undefined {
    return this.chooser.lease(this.slots);
  }

  leaseWaiting(): Promise<Lease> {
    return this.chooser.next(this.slots).leaseWaiting();
  }

  /** Ready when at least one slot holds a valid token. */
  get ready(): boolean {
    return this.slots.some((slot) => slot.valid);
  }

  start(): void {
    for (const slot of this.slots) slot.start();
  }

  stop(): void {
    for (const slot of this.slots) slot.stop();
  }

  /** Admin: every slot to a newer token, fleet-wide. Rejects with the first failure. */
  async forceRefresh(): Promise<Token[]> {
    return Promise.all(this.slots.map((slot) => slot.forceRefresh()));
  }

  status(): SlotStatus[] {
    return this.slots.map((slot) => slot.status());
  }
}
