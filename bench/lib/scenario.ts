import type { Machine } from './machine.js';
import type { Table } from './table.js';
import type { Upstream } from './targets.js';

/** What every scenario gets: the shared fast upstream, a progress logger, and the machine. */
export interface ScenarioContext {
  readonly upstream: Upstream;
  readonly machine: Machine;
  /** One progress line on stderr (not part of the results). */
  log(line: string): void;
}

/** A scenario's part of the printed and recorded results. */
export interface Section {
  readonly title: string;
  /** How it was measured, one paragraph. */
  readonly method: string;
  readonly tables: readonly Table[];
  readonly notes: readonly string[];
}

export interface ScenarioOutcome<F> {
  readonly section: Section;
  /** The raw figures, recorded in the JSON and checked against the targets. */
  readonly figures: F;
}

export interface Scenario<F = unknown> {
  /** For `--only`, and the key of its figures in the JSON. */
  readonly id: string;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome<F>>;
}
