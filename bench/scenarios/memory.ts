import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop } from '../lib/closed-loop.js';
import { megabytes, sampleProcessTree, startSampling } from '../lib/process-stats.js';
import type { Scenario } from '../lib/scenario.js';
import { formatNumber } from '../lib/table.js';
import { LOAD_HEADERS, LOAD_PATH, startSidecar } from '../lib/targets.js';

const CONNECTIONS = 200;
const DURATION_SECONDS = 15;
/** After the load, so sockets have closed and the heap has had a chance to shrink. */
const COOL_DOWN_MS = 2_000;

export interface MemoryFigures {
  readonly connections: number;
  readonly idleRssMb: number;
  readonly peakRssMb: number;
  readonly afterRssMb: number;
  readonly idleFds: number;
  readonly peakFds: number;
  readonly afterFds: number;
  readonly requestsPerSecond: number;
}

/** RSS and open file descriptors of one sidecar (WORKERS=1): idle, under 200 connections, and after. */
export const memoryScenario: Scenario<MemoryFigures> = {
  id: 'memory',
  async run(ctx) {
    const sidecar = await startSidecar({ upstreamUrl: ctx.upstream.url, workers: '1', name: 'sidecar, WORKERS=1' });
    let figures: MemoryFigures;
    try {
      const idle = sampleProcessTree(sidecar.pid);
      ctx.log(`memory: ${CONNECTIONS} connections for ${DURATION_SECONDS} s`);
      const sampler = startSampling(sidecar.pid, 1_000);
      const load = await closedLoop({ url: `${sidecar.url}${LOAD_PATH}`, connections: CONNECTIONS, durationSeconds: DURATION_SECONDS, headers: LOAD_HEADERS });
      const samples = sampler.stop();
      sidecar.assertAlive();
      await sleep(COOL_DOWN_MS);
      const after = sampleProcessTree(sidecar.pid);
      figures = {
        connections: CONNECTIONS,
        idleRssMb: megabytes(idle.rssBytes),
        peakRssMb: megabytes(Math.max(...samples.map((s) => s.rssBytes))),
        afterRssMb: megabytes(after.rssBytes),
        idleFds: idle.fds,
        peakFds: Math.max(...samples.map((s) => s.fds)),
        afterFds: after.fds,
        requestsPerSecond: load.requestsPerSecond,
      };
    } finally {
      await sidecar.stop();
    }
    return {
      figures,
      section: {
        title: `Memory at ${CONNECTIONS} connections`,
        method:
          `One sidecar (WORKERS=1); RSS (VmRSS) and open file descriptors from /proc, sampled every second while ` +
          `${CONNECTIONS} connections load it for ${DURATION_SECONDS} s (${formatNumber(figures.requestsPerSecond)} req/s), ` +
          `then ${COOL_DOWN_MS / 1000} s after.`,
        tables: [
          {
            columns: ['', 'idle', `peak under ${CONNECTIONS} connections`, 'after'],
            rows: [
              ['RSS MB', formatNumber(figures.idleRssMb, 1), formatNumber(figures.peakRssMb, 1), formatNumber(figures.afterRssMb, 1)],
              ['open fds', String(figures.idleFds), String(figures.peakFds), String(figures.afterFds)],
            ],
          },
        ],
        notes: [],
      },
    };
  },
};
