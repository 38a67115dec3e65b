import { evaluate, type Gate, type GateResult } from './gates.js';
import { figuresOf, type Figures } from './figures.js';
import type { Mark } from './mark.js';
import type { InstanceScrape } from './scrape.js';
import { windowed } from './window.js';

/** The run report: what every renderer shows and what `--json` writes (docs/report.schema.json). */
export interface Report {
  readonly kind: 'token-sidecar-report';
  readonly version: 1;
  /** ISO 8601: when the instances were read. */
  readonly generatedAt: string;
  readonly window: {
    /** `mark`: every instance counted from the mark; `start`: from each instance's start; `mixed`: some instances were not in the mark. */
    readonly since: 'mark' | 'start' | 'mixed';
    /** ISO 8601, or null without a mark. */
    readonly markTakenAt: string | null;
  };
  readonly instances: ReadonlyArray<{ readonly admin: string; readonly instanceId: string; readonly since: 'mark' | 'start'; readonly figures: Figures }>;
  readonly total: Figures;
  readonly gates: readonly GateResult[];
  /** Every gate held (true when there is none). */
  readonly passed: boolean;
}

export function buildReport(scrapes: readonly InstanceScrape[], mark: Mark | undefined, gates: readonly Gate[], now: Date): Report {
  const instances = scrapes.map((scrape) => windowed(scrape, mark));
  const total = figuresOf(instances);
  const results = gates.map((gate) => evaluate(gate, total));
  const sinces = new Set(instances.map((instance) => instance.since));
  return {
    kind: 'token-sidecar-report',
    version: 1,
    generatedAt: now.toISOString(),
    window: { since: sinces.size > 1 ? 'mixed' : sinces.has('mark') ? 'mark' : 'start', markTakenAt: mark?.takenAt ?? null },
    instances: instances.map((instance) => ({ admin: instance.admin, instanceId: instance.instanceId, since: instance.since, figures: figuresOf([instance]) })),
    total,
    gates: results,
    passed: results.every((result) => result.held),
  };
}
