/**
 * The auto pool at Genesys's own scale, outside `npm test` (which keeps the limit as 50 per 10 s to
 * finish in seconds): the mock in this process with a per-token limit of 300 per `WINDOW_S` seconds
 * and no budget headers, sidecars (dist/cli.js, built) counting against RATE_LIMIT_PER_TOKEN=300, and
 * an open loop at 200 requests/s (1 s ramp) for `DURATION_S`, loopback only. Prints the client
 * answers, the upstream's 429s, the pool each second and the aim, ceil(peak per window / limit) + 2.
 *
 *   npm run build && node --import tsx bench/pool-at-scale.ts            two sidecars on one redis-server, 60 s window, 80 s
 *   WORKERS=2 node --import tsx bench/pool-at-scale.ts                    one sidecar with two workers instead
 *   WINDOW_S=10 DURATION_S=14 node --import tsx bench/pool-at-scale.ts    the tests' scale
 */
import { buildMockUpstream } from '../src/mock/app.js';
import { countsOf, openLoop, peakPerWindow, ramp } from '../test/helpers/pool-load.js';
import { startSidecar } from '../test/helpers/processes.js';
import { startRedisNodes, stopAllRedisNodes } from '../test/helpers/redis-server.js';

const WINDOW_S = Number(process.env.WINDOW_S ?? 60);
const DURATION_S = Number(process.env.DURATION_S ?? 80);
const WORKERS = process.env.WORKERS;
/** 300 a minute, on whatever window. */
const LIMIT = 5 * WINDOW_S;

const mock = buildMockUpstream({ perTokenLimit: LIMIT, perTokenWindowMs: WINDOW_S * 1000 });
const refused: number[] = [];
const started = Date.now();
mock.app.addHook('onResponse', async (request, reply) => {
  if (request.url.startsWith('/api/') && reply.statusCode === 429) refused.push(Date.now() - started);
});
await mock.app.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${(mock.app.server.address() as { port: number }).port}`;

const env: Record<string, string> = { RATE_LIMIT_PER_TOKEN: '300', RATE_LIMIT_WINDOW_S: String(WINDOW_S), UPSTREAM_CONNECTIONS: '128' };
if (WORKERS) env.WORKERS = WORKERS;
else env.REDIS_URL = (await startRedisNodes(1))[0]!.url;
const sidecars = await Promise.all(Array.from({ length: WORKERS ? 1 : 2 }, () => startSidecar(url, env)));
try {
  const load = await openLoop(sidecars, ramp(200, 1_000), DURATION_S * 1000, async () => countsOf(mock.stats()));
  const peak = peakPerWindow(load.sent, WINDOW_S * 1000);
  const stats = mock.stats();
  console.log(`${WORKERS ? `one sidecar, WORKERS=${WORKERS}` : 'two sidecars on one redis-server'}, ${LIMIT} per ${WINDOW_S} s, 200 requests/s for ${DURATION_S} s`);
  console.log(`client answers: ${JSON.stringify(load.statuses)}; upstream 429s: ${refused.length} of ${stats.api.total}; token requests: ${stats.tokenRequests.total}`);
  console.log(`pool at the end: ${load.timeline.at(-1)?.poolSizes.join('/')}; aim: ceil(${peak} / ${LIMIT}) + 2 = ${Math.ceil(peak / LIMIT) + 2}`);
  console.log(`pool by second (s:sizes:token requests:upstream 429s so far): ${load.timeline.map(({ atS, poolSizes, tokenRequests, upstream429 }) => `${atS}:${poolSizes.join('/')}:${tokenRequests}:${upstream429}`).join(' ')}`);
} finally {
  await Promise.all(sidecars.map((sidecar) => sidecar.proc.stop('SIGKILL')));
  await stopAllRedisNodes();
  await mock.app.close();
}
