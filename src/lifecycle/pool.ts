import type { StoreEvent } from '../store/store.js';
import type { Lease, LeasePool } from './lease.js';
import type { SlotStatus, TokenSlot } from './slot.js';

/**
 * The tokens of one credential profile: `TOKEN_POOL_SIZE` independent slots used round-robin, so a
 * run gets pool-size × Genesys's per-token rate limit (300 requests/minute each, docs/genesys.md §5).
 * A slot without a valid token is skipped while another has one.
 */
export class TokenPool implements LeasePool {
  private next = 0;
  private readonly byKey: Map<string, TokenSlot>;

  constructor(
    readonly profile: string,
    private readonly slots: readonly TokenSlot[],
    keys: readonly string[],
  ) {
    this.byKey = new Map(keys.map((key, i) => [key, slots[i]!]));
  }

  /** The hot path: a valid token, round-robin over slots, with no I/O; undefined if none is held. */
  lease(): Lease | undefined {
    const count = this.slots.length;
    for (let i = 0; i < count; i++) {
      const slot = this.slots[(this.next + i) % count]!;
      const lease = slot.currentLease();
      if (lease) {
        this.next = (this.next + i + 1) % count;
        return lease;
      }
    }
    return undefined;
  }

  /** Waits for a token when none is held: from the next slot in turn. Rejects with a SidecarError. */
  async leaseWaiting(): Promise<Lease> {
    const slot = this.slots[this.next]!;
    this.next = (this.next + 1) % this.slots.length;
    return slot.leaseFor(await slot.get());
  }

  start(): void {
    for (const slot of this.slots) slot.start();
  }

  stop(): void {
    for (const slot of this.slots) slot.stop();
  }

  /** Routes a store event to the slot it concerns, if it is one of ours. */
  onStoreEvent(event: StoreEvent): boolean {
    const slot = this.byKey.get(event.key);
    slot?.onStoreEvent(event);
    return slot !== undefined;
  }

  async forceRefresh(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.forceRefresh()));
  }

  status(): SlotStatus[] {
    return this.slots.map((slot) => slot.status());
  }

  /** Ready when at least one slot holds a valid token. */
  get ready(): boolean {
    return this.slots.some((slot) => slot.current() !== undefined);
  }
}
