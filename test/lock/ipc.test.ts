import { forkBackendHost } from '../helpers/ipc-backend.js';
import { lockContract } from './contract.js';

// The workers' lock: the primary's local lock in a real forked process, reached over IPC.
lockContract('IpcRefreshLock', async (clock) => {
  const host = await forkBackendHost(clock);
  return { open: async () => host.open().lock, lapse: (_key, ttlMs) => clock.advance(ttlMs), close: () => host.close() };
});
