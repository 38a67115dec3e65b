import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { IpcBackendClient } from '../../src/ipc/backend-client.js';
import type { IpcChannel } from '../../src/ipc/call.js';
import { IpcRefreshLock } from '../../src/lock/ipc.js';
import { IpcTokenStore } from '../../src/store/ipc.js';

const HOST = fileURLToPath(new URL('./ipc-backend-host.ts', import.meta.url));

/**
 * The workers' shared store and lock over a real IPC channel: a forked child process runs the
 * primary's backend host (./ipc-backend-host.ts); each `open()` is one worker's client of it. The
 * host's clock follows `clock`, sent along with every call.
 */
export async function forkBackendHost(clock: { now(): number }) {
  const child = fork(HOST, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { t?: string }) => message?.t === 'test-ready' && resolve());
    child.once('exit', (code) => reject(new Error(`IPC host exited (${code}) before it was ready`)));
  });
  const channel: IpcChannel = {
    send: (message) => {
      child.send({ t: 'test-clock', now: clock.now() });
      return child.send(message as object);
    },
    on: (event, listener) => child.on(event, listener),
  };
  return {
    open() {
      const client = new IpcBackendClient(channel);
      return { store: new IpcTokenStore(client), lock: new IpcRefreshLock(client) };
    },
    async close() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
