import { describeProviderLoads } from '../helpers/provider-load.js';

// The client secret methods under load (test/helpers/provider-load.ts); the key-based ones are in
// provider-key-load.test.ts.
await describeProviderLoads(['client_secret_basic', 'client_secret_post']);
