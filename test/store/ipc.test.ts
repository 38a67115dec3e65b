import { forkBackendHost } from '../helpers/ipc-backend.js';
import { storeContract } from './contract.js';

// The workers' store: the primary's memory store in a real forked process, reached over IPC.
storeContract('IpcTokenStore', async (clock) => {
  const host = await forkBackendHost(clock);
  return { open: async () => host.open().store, close: () => host.close() };
});
