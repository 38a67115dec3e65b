import { describeProviderLoads } from '../helpers/provider-load.js';

// The methods that sign with the client's key under load (test/helpers/provider-load.ts): the
// private_key_jwt client authentication and the JWT bearer grant, whose assertions the provider checks.
await describeProviderLoads(['private_key_jwt', 'jwt_bearer grant']);
