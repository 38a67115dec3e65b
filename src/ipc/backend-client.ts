import { IpcCaller, type IpcChannel } from './call.js';
import { isMessage, type BackendEventMessage, type BackendReply } from './protocol.js';

/** How long a worker waits for the primary before treating the store as unreachable. */
const IPC_TIMEOUT_MS = 2_000;

/**
 * A worker's line to the store and lock held by the primary process (WORKERS > 1 without Redis):
 * `call` is one IPC round trip to the method `op` there; the primary broadcasts every store event to
 * all workers, and `addListener` hears them. Shared by the IPC store and the IPC lock.
 */
export class IpcBackendClient {
  private readonly caller: IpcCaller<BackendReply>;
  private readonly listeners = new Set<(event: unknown) => void>();

  constructor(channel: IpcChannel) {
    this.caller = new IpcCaller<BackendReply>(channel, 'backend-reply', IPC_TIMEOUT_MS);
    channel.on('message', (message) => {
      if (isMessage<BackendEventMessage>(message, 'backend-event')) for (const listener of this.listeners) listener(message.event);
    });
  }

  async call<T>(op: string, ...args: unknown[]): Promise<T> {
    const reply = await this.caller.call({ t: 'backend', op, args }, `${op} (primary process)`);
    if (!reply.ok) throw new Error(reply.error ?? `${op} failed in the primary process`);
    return reply.value as T;
  }

  addListener(listener: (event: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
