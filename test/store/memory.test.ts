import { MemoryTokenStore } from '../../src/store/memory.js';
import { storeContract } from './contract.js';

// One process has one memory store: every "instance" of the fixture is that same store.
storeContract('MemoryTokenStore', async (clock) => {
  const store = new MemoryTokenStore({ now: () => clock.now() });
  return { open: async () => store, close: () => store.close() };
});
