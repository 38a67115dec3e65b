/**
 * A/B of CPU per request: two builds of the sidecar, and the bare @fastify/http-proxy floor, under
 * the same open-loop load at the same time, so whatever else the shared machine does weighs on all
 * three alike (measured one after the other, rounds on this machine differ by a third). Each round
 * interleaves all three; the figure is user + system CPU of each process over its measured requests.
 * With --closed, each round loads the three one after another (in a rotating order) with 200
 * closed-loop connections instead, as the throughput scenario does: the saturated case, where what
 * a request leaves for the garbage collector weighs more than at a fixed rate.
 *
 *   npm run build
 *   node --import tsx bench/ab.ts --a OTHER/dist/cli.js [--b dist/cli.js] [--rate 1500] [--rounds 4] [--seconds 8] [--closed]
 *     [--b-node-args '--max-semi-space-size=32']   (Node flags for B alone)
 *
 * OTHER is a copy of another commit's dist/ placed inside this checkout (e.g. .ab-base/dist, after
 * `git worktree add` or `git stash`, build, copy), so that it resolves this checkout's node_modules.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI_PATH, stopAllChildren } from './lib/children.js';
import { closedLoop } from './lib/closed-loop.js';
import { openLoop } from './lib/open-loop.js';
import { cpuMillisecondsOfTree } from './lib/process-stats.js';
import { median, sum } from './lib/statistics.js';
import { formatNumber, renderText } from './lib/table.js';
import { LOAD_HEADERS, LOAD_PATH, startBareProxy, startFastUpstream, startSidecar, type Target } from './lib/targets.js';

const CONNECTIONS = 100;
const WARMUP_SECONDS = 2;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string', default: CLI_PATH },
      rate: { type: 'string', default: '1500' },
      rounds: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '8' },
      closed: { type: 'boolean', default: false },
      'b-node-args': { type: 'string', default: '' },
    },
  });
  if (!values.a) throw new Error('--a <path to another build of cli.js> is required');
  const [rate, rounds, seconds] = [Number(values.rate), Number(values.rounds), Number(values.seconds)];
  const upstream = await startFastUpstream();
  const targets: Target[] = [
    await startBareProxy(upstream),
    await startSidecar({ upstreamUrl: upstream.url, name: `A ${values.a}`, cliPath: resolve(values.a) }),
    await startSidecar({
      upstreamUrl: upstream.url,
      name: `B ${values.b} ${values['b-node-args']}`.trimEnd(),
      cliPath: resolve(values.b),
      nodeArgs: values['b-node-args'].split(' ').filter(Boolean),
    }),
  ];
  /** What one measured round of either load yields here. */
  type Load = { sent: number; non2xx: number; errors: number; achievedRate: number };
  const measured = targets.map(() => [] as (Load & { cpuMs: number })[]);
  const load = async (target: Target, durationSeconds: number): Promise<Load> =>
    openLoop({ origin: target.url, path: LOAD_PATH, requestsPerSecond: rate, connections: CONNECTIONS, headers: LOAD_HEADERS, durationSeconds });
  const saturate = async (target: Target, durationSeconds: number): Promise<Load> => {
    const result = await closedLoop({ url: `${target.url}${LOAD_PATH}`, connections: 200, headers: LOAD_HEADERS, durationSeconds });
    return { sent: result.requests, non2xx: result.non2xx, errors: result.errors, achievedRate: result.requestsPerSecond };
  };
  for (let round = 1; round <= rounds; round++) {
    if (values.closed) {
      for (let k = 0; k < targets.length; k++) {
        const i = (k + round) % targets.length;
        const target = targets[i]!;
        await saturate(target, WARMUP_SECONDS);
        const before = cpuMillisecondsOfTree(target.pid);
        const result = await saturate(target, seconds);
        target.assertAlive();
        measured[i]!.push({ ...result, cpuMs: cpuMillisecondsOfTree(target.pid) - before });
      }
    } else {
      await Promise.all(targets.map((target) => load(target, WARMUP_SECONDS)));
      const before = targets.map((target) => cpuMillisecondsOfTree(target.pid));
      const results = await Promise.all(targets.map((target) => load(target, seconds)));
      targets.forEach((target, i) => {
        target.assertAlive();
        const cpuMs = cpuMillisecondsOfTree(target.pid) - before[i]!;
        measured[i]!.push({ ...results[i]!, cpuMs });
      });
    }
    process.stdout.write(`round ${round}/${rounds}: ${targets.map((t, i) => `${t.name.split(' ')[0]} ${formatNumber((measured[i]!.at(-1)!.cpuMs * 1000) / measured[i]!.at(-1)!.sent, 1)} µs, ${formatNumber(measured[i]!.at(-1)!.achievedRate)} req/s`).join('; ')}\n`);
  }
  const perRequest = measured.map((rows) => (sum(rows.map((r) => r.cpuMs)) * 1000) / sum(rows.map((r) => r.sent)));
  process.stdout.write(
    `\n${renderText({
      columns: ['target', 'CPU µs/request', '× bare', 'rounds µs/request', 'req/s (median)', 'non-2xx', 'errors'],
      rows: targets.map((target, i) => [
        target.name,
        formatNumber(perRequest[i]!, 1),
        formatNumber(perRequest[i]! / perRequest[0]!, 3),
        measured[i]!.map((r) => formatNumber((r.cpuMs * 1000) / r.sent)).join(' / '),
        formatNumber(median(measured[i]!.map((r) => r.achievedRate))),
        formatNumber(sum(measured[i]!.map((r) => r.non2xx))),
        formatNumber(sum(measured[i]!.map((r) => r.errors))),
      ]),
    })}\nB / A: ${formatNumber(perRequest[2]! / perRequest[1]!, 3)} (${values.closed ? '200 closed-loop connections, one target at a time' : `${formatNumber(rate)} req/s each`}, ${rounds} rounds of ${seconds} s)\n`,
  );
}

try {
  await main();
} finally {
  await stopAllChildren();
}
