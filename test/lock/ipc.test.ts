import { after } from 'node:test';
import { forkBackendHost } from '../helpers/ipc-backend.js';
import { lockContract } from './contract.js';

// The workers' lock: the primary's local lock in a real forked process, reached over IPC. One
// process for the suite; each test gets a new lock in it.
const host = forkBackendHost();
after(async () => (await host).close());

lockContract('IpcRefreshLock', async (clock) => {
  const backend = await (await host).fresh(clock);
  return { open: async () => backend.open().lock, lapse: (_key, ttlMs) => clock.advance(ttlMs), close: async () => backend.close() };
});
