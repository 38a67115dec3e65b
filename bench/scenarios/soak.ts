import { closedLoop } from '../lib/closed-loop.js';
import { megabytes, startSampling, type ProcessSample } from '../lib/process-stats.js';
import type { Scenario } from '../lib/scenario.js';
import { formatNumber } from '../lib/table.js';
import { LOAD_HEADERS, LOAD_PATH, startSidecar } from '../lib/targets.js';

const CONNECTIONS = 200;
const SAMPLE_EVERY_MS = 10_000;
/** Samples before this are warm-up (heap growing to its working size) and not part of the spread. */
const WARMUP_FRACTION = 0.2;
const MAX_WARMUP_SECONDS = 60;

export interface SoakFigures {
  readonly minutes: number;
  readonly connections: number;
  readonly requestsPerSecond: number;
  readonly warmupSeconds: number;
  readonly samples: readonly ProcessSample[];
  /** (max - min) / min of the RSS samples after warm-up, in percent. */
  readonly rssSpreadPercent: number;
  readonly fdSpread: { min: number; max: number };
}

/** `--soak`: one sidecar under 200 connections for many minutes; RSS and fds over time. */
export function soakScenario(minutes: number): Scenario<SoakFigures> {
  return {
    id: 'soak',
    async run(ctx) {
      const sidecar = await startSidecar({ upstreamUrl: ctx.upstream.url, workers: '1', name: 'sidecar, WORKERS=1' });
      let figures: SoakFigures;
      try {
        ctx.log(`soak: ${CONNECTIONS} connections for ${minutes} min, sampling every ${SAMPLE_EVERY_MS / 1000} s`);
        const sampler = startSampling(sidecar.pid, SAMPLE_EVERY_MS);
        const load = await closedLoop({ url: `${sidecar.url}${LOAD_PATH}`, connections: CONNECTIONS, durationSeconds: minutes * 60, headers: LOAD_HEADERS });
        const samples = sampler.stop();
        sidecar.assertAlive();
        const warmupSeconds = Math.min(MAX_WARMUP_SECONDS, minutes * 60 * WARMUP_FRACTION);
        const steady = samples.filter((s) => s.atSeconds >= warmupSeconds);
        const rss = steady.map((s) => s.rssBytes);
        const fds = steady.map((s) => s.fds);
        figures = {
          minutes,
          connections: CONNECTIONS,
          requestsPerSecond: load.requestsPerSecond,
          warmupSeconds,
          samples,
          rssSpreadPercent: Math.round(((Math.max(...rss) - Math.min(...rss)) / Math.min(...rss)) * 1000) / 10,
          fdSpread: { min: Math.min(...fds), max: Math.max(...fds) },
        };
      } finally {
        await sidecar.stop();
      }
      return {
        figures,
        section: {
          title: `Soak: ${minutes} min at ${CONNECTIONS} connections`,
          method:
            `One sidecar (WORKERS=1) under ${CONNECTIONS} closed-loop connections for ${minutes} min ` +
            `(${formatNumber(figures.requestsPerSecond)} req/s on average); RSS and open fds sampled every ` +
            `${SAMPLE_EVERY_MS / 1000} s. Spread = (max − min) / min of RSS after ${figures.warmupSeconds} s of warm-up.`,
          tables: [
            {
              columns: ['at s', 'RSS MB', 'open fds'],
              rows: figures.samples.map((s) => [formatNumber(s.atSeconds), formatNumber(megabytes(s.rssBytes), 1), String(s.fds)]),
            },
          ],
          notes: [`RSS spread after warm-up: ${figures.rssSpreadPercent}%; open fds between ${figures.fdSpread.min} and ${figures.fdSpread.max}.`],
        },
      };
    },
  };
}
