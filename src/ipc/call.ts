/**
 * One end of an IPC channel: a worker's `process`, the primary's `Worker`, or a forked
 * `ChildProcess` (they share this shape).
 */
export interface IpcChannel {
  send(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** Call ids are unique within the process, so several callers may share one channel. */
let lastId = 0;

/**
 * Request/reply over IPC: each call carries a fresh `id`, and the first message of type `replyType`
 * with that id settles it; no reply within `timeoutMs` rejects. Used both ways: workers asking the
 * primary's store and lock, and the primary asking a worker's admin app.
 */
export class IpcCaller<Reply extends { t: string; id: number }> {
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly channel: IpcChannel,
    replyType: Reply['t'],
    private readonly timeoutMs: number,
  ) {
    channel.on('message', (message) => {
      const reply = message as Reply;
      if (typeof message !== 'object' || message === null || reply.t !== replyType) return;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      clearTimeout(waiter.timer);
      waiter.resolve(reply);
    });
  }

  /** Sends `message` with a new id; `what` names the call in the timeout error. */
  call(message: Record<string, unknown>, what: string): Promise<Reply> {
    const id = ++lastId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${what} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.channel.send({ ...message, id });
    });
  }
}
