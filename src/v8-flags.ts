import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags for a proxy under load, set before anything else is loaded: cli.ts imports this module
 * first, and ESM evaluates it before the modules imported after it (workers run cli.ts too).
 *
 * --no-allocation-site-pretenuring. V8 may decide, from how many of a site's objects survived the
 * first young-generation collections, to allocate that site's objects straight into the old
 * generation. A proxy's per-request objects live for one round trip; when a cold process meets 200
 * connections at once, the first slow round trips make them look long-lived, and from then on every
 * request's objects land in the old generation, which fills with garbage and is mark-compacted
 * several times a second for the life of the process. Measured here (fast upstream, 200
 * connections, 6 s each after 3 s of warm-up): started without the flag, 3 of 4 sidecars ran at
 * 7,200–8,500 req/s with 5–6 mark-compacts, against 9,700–11,200 req/s and 0–1 for 8 of 8 started
 * with it. A bare @fastify/http-proxy shows the same two modes. Set at run time, it holds: V8 reads
 * it when it makes that decision, during garbage collection.
 */
setFlagsFromString('--no-allocation-site-pretenuring');
