import type { IpcChannel } from './call.js';
import { isMessage, type BackendReply, type BackendRequest } from './protocol.js';

/** One method the host offers to workers: `op` name → implementation. */
export type BackendOperations = Readonly<Record<string, (...args: unknown[]) => Promise<unknown>>>;

export interface HostedBackend {
  readonly operations: BackendOperations;
  /** Where the events broadcast to every worker come from (the store's subscription). */
  subscribe(listener: (event: unknown) => void): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The primary's side of the workers' shared store and lock (WORKERS > 1 without Redis): answers
 * each worker's calls (ipc/backend-client.ts) with the hosted store's and lock's operations
 * (store/ipc.ts `storeOperations`, lock/ipc.ts `lockOperations`), and broadcasts every store event
 * to all workers. Calls are answered in the order their results settle; each names its own id.
 */
export class IpcBackendHost {
  private readonly channels = new Map<IpcChannel, () => boolean>();

  constructor(private readonly backend: HostedBackend) {}

  async start(): Promise<void> {
    await this.backend.subscribe((event) => {
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
    await this.backend.close();
  }

  private async answer({ op, args }: BackendRequest): Promise<unknown> {
    const operation = Object.hasOwn(this.backend.operations, op) ? this.backend.operations[op] : undefined;
    if (!operation) throw new Error(`unknown store or lock operation "${op}"`);
    return operation(...args);
  }
}
