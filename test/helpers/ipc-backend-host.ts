/**
 * A child process (forked by ./ipc-backend.ts) playing the primary: the backend host over the
 * in-memory store and local lock, on the IPC channel to its parent. Their clock is the parent test's: the
 * parent sends `{ t: 'test-clock', now }` ahead of every call (IPC keeps messages in order).
 *
 * One child serves a whole contract suite: `{ t: 'test-reset' }` closes the host and builds a new one
 * over a new store and lock, so each test starts from nothing, as in a newly started primary; the
 * child answers `{ t: 'test-reset-done' }` once the new host listens. Only the current host hears
 * the parent's calls.
 */
import { EventEmitter } from 'node:events';
import { hostBackends } from '../../src/compose.js';
import type { IpcChannel } from '../../src/ipc/call.js';
import { LocalRefreshLock } from '../../src/lock/local.js';
import { MemoryTokenStore } from '../../src/store/memory.js';

let now = Date.now();

// The host the composition root builds for the primary, on the test's clock, behind a relay that
// only passes it the parent's messages while it is the current one.
async function newHost() {
  const host = hostBackends(new MemoryTokenStore({ now: () => now }), new LocalRefreshLock({ now: () => now }));
  await host.start();
  const relay = new EventEmitter();
  const channel: IpcChannel = { send: (message) => process.send?.(message), on: (event, listener) => relay.on(event, listener) };
  host.attach(channel, () => process.connected === true);
  return { host, relay };
}

let current = await newHost();
process.on('message', (message: { t?: string; now?: number }) => {
  if (message?.t === 'test-clock' && typeof message.now === 'number') now = message.now;
  else if (message?.t === 'test-reset') {
    const old = current;
    old.relay.removeAllListeners();
    void newHost().then(async (fresh) => {
      current = fresh;
      await old.host.close();
      process.send?.({ t: 'test-reset-done' });
    });
  } else current.relay.emit('message', message);
});
process.on('disconnect', () => process.exit(0));
process.send?.({ t: 'test-ready' });
