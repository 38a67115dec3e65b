import type { Sample } from '../report/prom-text.js';
import type { InstanceScrape } from '../report/scrape.js';

/**
 * What `top` shows of one instance at one moment: its cumulative counters (rates come from two
 * snapshots), its gauges, and its tokens' age and next refresh from `GET /token`.
 */
export interface Snapshot {
  readonly at: number;
  readonly upstreamByClass: Readonly<Record<StatusClass, number>>;
  readonly upstreamTotal: number;
  readonly clientBySidecar: number;
  readonly replays: number;
  readonly rateLimited: number;
  readonly lockWaits: number;
  readonly lockWaitSeconds: number;
  readonly poolSize: number | null;
  /** The sum of `rate_limit_remaining` over the slots; null when no slot has a reading. */
  readonly budgetLeft: number | null;
  /** The oldest token's age in seconds, and the soonest planned refresh in seconds from now. */
  readonly tokenAgeSeconds: number | null;
  readonly nextRefreshSeconds: number | null;
}

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'error';
export const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'error'];

export function snapshotOf(scrape: InstanceScrape): Snapshot {
  const { samples } = scrape.exposition;
  const upstreamByClass: Record<StatusClass, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, error: 0 };
  for (const s of samples) {
    if (s.name !== 'token_sidecar_upstream_responses_total') continue;
    const code = s.labels.code ?? '';
    const cls = (code === 'error' ? 'error' : `${code[0]}xx`) as StatusClass;
    if (cls in upstreamByClass) upstreamByClass[cls] += s.value;
  }
  const slots = slotsOf(scrape.token);
  const ages = slots.map((slot) => slot.token?.ageSeconds).filter((age): age is number => typeof age === 'number');
  const refreshes = slots
    .map((slot) => (typeof slot.nextRefreshAt === 'string' ? (Date.parse(slot.nextRefreshAt) - scrape.at) / 1000 : undefined))
    .filter((seconds): seconds is number => seconds !== undefined && Number.isFinite(seconds));
  const remaining = samples.filter((s) => s.name === 'token_sidecar_rate_limit_remaining');
  const poolSizes = samples.filter((s) => s.name === 'token_sidecar_pool_size');
  return {
    at: scrape.at,
    upstreamByClass,
    upstreamTotal: STATUS_CLASSES.reduce((sum, cls) => sum + upstreamByClass[cls], 0),
    clientBySidecar: sum(samples, 'token_sidecar_client_responses_total', { origin: 'sidecar' }),
    replays: sum(samples, 'token_sidecar_replays_total'),
    rateLimited: sum(samples, 'token_sidecar_rate_limited_total'),
    lockWaits: sum(samples, 'token_sidecar_lock_wait_seconds_count'),
    lockWaitSeconds: sum(samples, 'token_sidecar_lock_wait_seconds_sum'),
    poolSize: poolSizes.length === 0 ? null : poolSizes.reduce((n, s) => n + s.value, 0),
    budgetLeft: remaining.length === 0 ? null : remaining.reduce((n, s) => n + s.value, 0),
    tokenAgeSeconds: ages.length === 0 ? null : Math.max(...ages),
    nextRefreshSeconds: refreshes.length === 0 ? null : Math.max(0, Math.min(...refreshes)),
  };
}

interface SlotLike {
  token?: { ageSeconds?: unknown } | null;
  nextRefreshAt?: unknown;
}

/** Every slot of every profile in a `GET /token` answer (a WORKERS primary answers `{workers: [...]}`). */
function slotsOf(token: unknown): SlotLike[] {
  const answers = Array.isArray((token as { workers?: unknown[] })?.workers) ? (token as { workers: unknown[] }).workers : [token];
  return answers.flatMap((answer) => {
    const profiles = (answer as { profiles?: Array<{ slots?: SlotLike[] }> })?.profiles;
    return Array.isArray(profiles) ? profiles.flatMap((profile) => (Array.isArray(profile.slots) ? profile.slots : [])) : [];
  });
}

function sum(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) if (s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value;
  return total;
}
