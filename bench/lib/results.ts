import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './children.js';
import { goalsTable, type FiguresByScenario, type GoalResult } from './goals.js';
import { machineTag, type Machine } from './machine.js';
import type { Section } from './scenario.js';
import { renderMarkdown, renderText } from './table.js';

/** One benchmark run, as recorded under bench/results/. */
export interface BenchReport {
  /** ISO 8601, when the run started. */
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** 1-minute load average when the run ended; with the machine's at the start, how quiet the machine was. */
  readonly loadAverageAtEnd: number;
  /** full: every scenario (committed); soak: --soak alone; partial: --only (kept out of git). */
  readonly mode: 'full' | 'soak' | 'partial';
  readonly command: string;
  readonly machine: Machine;
  readonly sections: readonly Section[];
  readonly figures: FiguresByScenario;
  readonly goals: readonly GoalResult[];
}

const RESULTS_DIR = join(REPO_ROOT, 'bench/results');

/** Why the figures are relative: said in every report, since it is true of every run here. */
export function caveats(machine: Machine): string {
  return (
    `Everything runs on this one machine over loopback: the load generator, the upstream and the proxy under test ` +
    `share ${machine.cpus} CPUs, so a proxy that uses more processes also takes CPU from the load generator and the ` +
    'upstream. Compare rows of the same run with each other; absolute figures on a machine where the proxy has ' +
    'cores of its own will be higher.'
  );
}

export function renderSectionText(section: Section): string {
  return [`== ${section.title}`, ...section.tables.map(renderText), ...section.notes].join('\n\n');
}

export function renderGoalsText(goals: readonly GoalResult[]): string {
  return `== Targets (shown, not asserted)\n\n${renderText(goalsTable(goals))}`;
}

function describeMachineBriefly(machine: Machine): string {
  return [
    `${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB`,
    machine.os,
    `Node ${machine.node}`,
    `nginx ${machine.nginx ?? 'not installed'}`,
    `Redis ${machine.redis ?? 'not installed'}`,
  ].join('; ');
}

export function renderMarkdownReport(report: BenchReport): string {
  const minutes = Math.floor(report.durationSeconds / 60);
  const seconds = Math.round(report.durationSeconds % 60);
  return [
    `# token-sidecar benchmark, ${report.startedAt.slice(0, 10)}`,
    [
      `- **Machine:** ${describeMachineBriefly(report.machine)}`,
      `- **Run:** \`${report.command}\`, started ${report.startedAt}, took ${minutes} min ${seconds} s; ` +
        `1-minute load average ${report.machine.loadAverageAtStart} at the start, ${report.loadAverageAtEnd} at the end`,
    ].join('\n'),
    `> ${caveats(report.machine)}`,
    `## Targets\n\nShown, not asserted.\n\n${renderMarkdown(goalsTable(report.goals))}`,
    ...report.sections.map((section) =>
      [`## ${section.title}`, section.method, ...section.tables.map(renderMarkdown), ...section.notes].join('\n\n'),
    ),
  ].join('\n\n') + '\n';
}

/** Writes `<date>-<machine>[-soak].json` and `.md`, plus `latest[-soak].md`; returns the paths written. */
export function writeReport(report: BenchReport): string[] {
  const directory = report.mode === 'partial' ? join(RESULTS_DIR, 'tmp') : RESULTS_DIR;
  mkdirSync(directory, { recursive: true });
  const suffix = report.mode === 'full' ? '' : `-${report.mode}`;
  const base = join(directory, `${report.startedAt.slice(0, 10)}-${machineTag(report.machine)}${suffix}`);
  const markdown = renderMarkdownReport(report);
  const written = [`${base}.json`, `${base}.md`];
  writeFileSync(written[0]!, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(written[1]!, markdown);
  if (report.mode !== 'partial') {
    const latest = join(RESULTS_DIR, `latest${suffix}.md`);
    writeFileSync(latest, markdown);
    written.push(latest);
  }
  return written.map((path) => relative(REPO_ROOT, path));
}
