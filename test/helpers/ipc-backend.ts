import { fork } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { IpcBackendClient } from '../../src/ipc/backend-client.js';
import type { IpcChannel } from '../../src/ipc/call.js';
import { IpcRefreshLock } from '../../src/lock/ipc.js';
import { IpcTokenStore } from '../../src/store/ipc.js';

const HOST = fileURLToPath(new URL('./ipc-backend-host.ts', import.meta.url));

/**
 * The workers' shared store and lock over a real IPC channel: a forked child process runs the
 * primary's backend host (./ipc-backend-host.ts). One child serves a whole suite (forking one per
 * test cost a Node and tsx start-up each): `fresh(clock)` has it start over on a new store and lock
 * and gives a backend whose `open()` is one worker's client of it; the host's clock follows `clock`,
 * sent along with every call. Clients of an earlier `fresh()` stop hearing the child once it closes.
 */
export async function forkBackendHost() {
  const child = fork(HOST, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const early = (code: number | null) => new Error(`IPC host exited (${code}) before it answered`);
  const answer = (type: string) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (message: { t?: string }) => {
        if (message?.t !== type) return;
        child.off('message', onMessage).off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) => reject(early(code));
      child.on('message', onMessage).once('exit', onExit);
    });
  await answer('test-ready');
  return {
    async fresh(clock: { now(): number }) {
      const done = answer('test-reset-done');
      child.send({ t: 'test-reset' });
      await done;
      const relay = new EventEmitter();
      const forward = (message: unknown) => relay.emit('message', message);
      child.on('message', forward);
      const channel: IpcChannel = {
        send: (message) => {
          child.send({ t: 'test-clock', now: clock.now() });
          return child.send(message as object);
        },
        on: (event, listener) => relay.on(event, listener),
      };
      return {
        open() {
          const client = new IpcBackendClient(channel);
          return { store: new IpcTokenStore(client), lock: new IpcRefreshLock(client) };
        },
        close() {
          child.off('message', forward);
          relay.removeAllListeners();
        },
      };
    },
    async close() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
