import type { Worker } from 'node:cluster';
import type { HeldLock } from '../lock/lock.js';
import { LocalRefreshLock } from '../lock/local.js';
import { MemoryTokenStore } from '../store/memory.js';
import type { Token } from '../token/token.js';
import { isMessage, type StoreReply, type StoreRequest } from './ipc-protocol.js';

/**
 * The primary's side of the shared in-memory store (WORKERS > 1 without Redis): one
 * MemoryTokenStore and LocalRefreshLock, answering every worker's calls and broadcasting every
 * store event to all workers.
 */
export class StoreHost {
  private readonly store = new MemoryTokenStore();
  private readonly lock = new LocalRefreshLock();
  private readonly held = new Map<number, HeldLock>();
  private nextLockId = 1;
  private readonly workers = new Set<Worker>();

  async start(): Promise<void> {
    await this.store.subscribe((event) => {
      for (const worker of this.workers) if (worker.isConnected()) worker.send({ t: 'store-event', event });
    });
  }

  attach(worker: Worker): void {
    this.workers.add(worker);
    worker.on('exit', () => this.workers.delete(worker));
    worker.on('message', (message: unknown) => {
      if (!isMessage<StoreRequest>(message, 'store')) return;
      this.answer(message).then(
        (value) => reply(worker, { t: 'store-reply', id: message.id, ok: true, value }),
        (err: Error) => reply(worker, { t: 'store-reply', id: message.id, ok: false, error: err.message }),
      );
    });
  }

  private async answer({ op, args }: StoreRequest): Promise<unknown> {
    const [a, b, c] = args;
    switch (op) {
      case 'get':
        return this.store.get(a as string);
      case 'nextGeneration':
        return this.store.nextGeneration(a as string);
      case 'putIfNewer':
        return this.store.putIfNewer(a as string, b as Token);
      case 'invalidate':
        return this.store.invalidate(a as string, b as number);
      case 'getRefreshToken':
        return this.store.getRefreshToken(a as string);
      case 'putRefreshToken':
        return this.store.putRefreshToken(a as string, b as string, c as number);
      case 'lockAcquire': {
        const held = await this.lock.tryAcquire(a as string, b as number);
        if (!held) return null;
        const id = this.nextLockId++;
        this.held.set(id, held);
        // Forget the handle once its TTL has passed: the lock has freed itself by then.
        setTimeout(() => this.held.delete(id), b as number).unref();
        return id;
      }
      case 'lockRelease': {
        const held = this.held.get(a as number);
        this.held.delete(a as number);
        await held?.release();
        return null;
      }
    }
  }
}

function reply(worker: Worker, message: StoreReply): void {
  if (worker.isConnected()) worker.send(message);
}
