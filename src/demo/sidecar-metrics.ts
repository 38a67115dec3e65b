import { request } from 'undici';
import { RATE_LIMITED_ACTIONS, type RateLimitedAction } from '../metrics/metrics.js';

/**
 * What the demo reads from its sidecars' own /metrics: how large the token pool grew and what
 * happened to requests that met an exhausted rate budget. The pool's size changes during a run (it
 * grows under load and shrinks when idle), so it is sampled while the load runs and the peak kept;
 * the counters are read once at the end.
 */
export interface SidecarFigures {
  /** Largest `token_sidecar_pool_size` seen on any instance (the size is fleet-wide with Redis). */
  readonly peakPoolSize: number;
  /** `token_sidecar_rate_limited_total` by action, summed over instances and profiles. */
  readonly rateLimited: Readonly<Record<RateLimitedAction, number>>;
}

/** Between two samples of the pool size: often enough to catch a peak that lasts a few seconds. */
const SAMPLE_INTERVAL_MS = 250;

/** Samples `adminUrls`' /metrics until `stop()`, which resolves with the figures of the whole run. */
export function watchSidecarMetrics(adminUrls: readonly string[]): { stop(): Promise<SidecarFigures> } {
  let peakPoolSize = 0;
  let sampling: Promise<void> = Promise.resolve();
  const sample = async () => {
    for (const text of await Promise.all(adminUrls.map(scrape))) {
      peakPoolSize = Math.max(peakPoolSize, sumOf(parseSamples(text, 'token_sidecar_pool_size')));
    }
  };
  // A failed scrape is skipped: the figures come from the samples that answered, and the last one,
  // in stop(), must answer.
  const timer = setInterval(() => {
    sampling = sampling.then(sample).catch(() => undefined);
  }, SAMPLE_INTERVAL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      await sample();
      const rateLimited = Object.fromEntries(RATE_LIMITED_ACTIONS.map((action) => [action, 0])) as Record<RateLimitedAction, number>;
      for (const text of await Promise.all(adminUrls.map(scrape))) {
        for (const { labels, value } of parseSamples(text, 'token_sidecar_rate_limited_total')) {
          const action = labels.action as RateLimitedAction | undefined;
          if (action !== undefined && action in rateLimited) rateLimited[action] += value;
        }
      }
      return { peakPoolSize, rateLimited };
    },
  };
}

async function scrape(adminUrl: string): Promise<string> {
  const response = await request(`${adminUrl}/metrics`);
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${adminUrl}/metrics answered ${response.statusCode}`);
  return text;
}

interface MetricSample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of one metric in Prometheus text format (label values hold no escaped quotes here). */
export function parseSamples(text: string, name: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const match = /^[a-zA-Z_:][\w:]*(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[key!] = value!;
    samples.push({ labels, value: Number(match[2]) });
  }
  return samples;
}

const sumOf = (samples: readonly MetricSample[]) => samples.reduce((total, sample) => total + sample.value, 0);
