import type { IpcChannel } from '../ipc/call.js';
import { isMessage, type BackendReply, type BackendRequest } from '../ipc/protocol.js';
import type { HeldLock, RefreshLock } from '../lock/lock.js';
import type { TokenStore } from '../store/store.js';
import type { Token } from '../token/token.js';

/**
 * The primary's side of the shared store (WORKERS > 1 without Redis): one store and lock (the
 * composition root hands in the in-memory ones), answering every worker's calls from
 * store/ipc.ts and lock/ipc.ts, and broadcasting every store event to all workers.
 */
export class StoreHost {
  private readonly held = new Map<number, HeldLock>();
  private nextLockId = 1;
  private readonly channels = new Map<IpcChannel, () => boolean>();

  constructor(
    private readonly store: TokenStore,
    private readonly lock: RefreshLock,
  ) {}

  async start(): Promise<void> {
    await this.store.subscribe((event) => {
      for (const [channel, isOpen] of this.channels) if (isOpen()) channel.send({ t: 'backend-event', event });
    });
  }

  /** Serves one worker's channel; `isOpen` tells whether it can still be written to. Returns a detach function. */
  attach(channel: IpcChannel, isOpen: () => boolean): () => void {
    this.channels.set(channel, isOpen);
    channel.on('message', (message: unknown) => {
      if (!isMessage<BackendRequest>(message, 'backend')) return;
      const reply = (answer: BackendReply) => {
        if (isOpen()) channel.send(answer);
      };
      this.answer(message).then(
        (value) => reply({ t: 'backend-reply', id: message.id, ok: true, value }),
        (err: Error) => reply({ t: 'backend-reply', id: message.id, ok: false, error: err.message }),
      );
    });
    return () => this.channels.delete(channel);
  }

  async close(): Promise<void> {
    this.channels.clear();
    await Promise.all([this.store.close(), this.lock.close()]);
  }

  private async answer({ op, args }: BackendRequest): Promise<unknown> {
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
      default:
        throw new Error(`unknown store operation "${op}"`);
    }
  }
}
