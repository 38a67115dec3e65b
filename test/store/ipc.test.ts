import { after } from 'node:test';
import { forkBackendHost } from '../helpers/ipc-backend.js';
import { storeContract } from './contract.js';

// The workers' store: the primary's memory store in a real forked process, reached over IPC. One
// process for the suite; each test gets a new store in it.
const host = forkBackendHost();
after(async () => (await host).close());

storeContract('IpcTokenStore', async (clock) => {
  const backend = await (await host).fresh(clock);
  return { open: async () => backend.open().store, close: async () => backend.close() };
});
