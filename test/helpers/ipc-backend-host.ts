/**
 * A child process (forked by ./ipc-backend.ts) playing the primary: the backend host over the
 * in-memory store and local lock, on the IPC channel to its parent. Their clock is the parent test's: the
 * parent sends `{ t: 'test-clock', now }` ahead of every call (IPC keeps messages in order).
 */
import { hostBackends } from '../../src/compose.js';
import type { IpcChannel } from '../../src/ipc/call.js';
import { LocalRefreshLock } from '../../src/lock/local.js';
import { MemoryTokenStore } from '../../src/store/memory.js';

let now = Date.now();
process.on('message', (message: { t?: string; now?: number }) => {
  if (message?.t === 'test-clock' && typeof message.now === 'number') now = message.now;
});
process.on('disconnect', () => process.exit(0));

// The host the composition root builds for the primary, on the test's clock.
const host = hostBackends(new MemoryTokenStore({ now: () => now }), new LocalRefreshLock({ now: () => now }));
await host.start();
host.attach(process as unknown as IpcChannel, () => process.connected === true);
process.send?.({ t: 'test-ready' });
