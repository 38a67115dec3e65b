/**
 * `npm run bench`: every scenario in order against a fresh build, a table per scenario on stdout, the
 * targets at the end, and the results written under bench/results/ (JSON + Markdown, with the machine
 * and the date). About eight minutes on 2 CPUs.
 *
 *   npm run bench                         every scenario except the soak
 *   npm run bench -- --soak               the soak alone (10 minutes; --soak-minutes N to change)
 *   npm run bench -- --only latency,memory  some scenarios; results go to bench/results/tmp/
 *   npm run bench -- --only pool-cpu        the token pool's CPU per request alone (about 1.5 minutes)
 *   npm run bench -- --only server-timing-cpu  the Server-Timing header's CPU per request (about 2 minutes)
 *   npm run bench -- --only redis-commands  Redis commands per instance per second, 100 to 5,000 req/s (about 1 minute)
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CLI_PATH, stopAllChildren } from './lib/children.js';
import { evaluateGoals, type FiguresByScenario } from './lib/goals.js';
import { describeMachine } from './lib/machine.js';
import { caveats, renderGoalsText, renderSectionText, writeReport, type BenchReport } from './lib/results.js';
import type { Scenario, Section } from './lib/scenario.js';
import { startFastUpstream } from './lib/targets.js';
import { latencyScenario } from './scenarios/latency.js';
import { memoryScenario } from './scenarios/memory.js';
import { poolCpuScenario } from './scenarios/pool-cpu.js';
import { redisCommandsScenario } from './scenarios/redis-commands.js';
import { serverTimingCpuScenario } from './scenarios/server-timing-cpu.js';
import { soakScenario } from './scenarios/soak.js';
import { throughputScenario } from './scenarios/throughput.js';
import { tokenEconomyScenario } from './scenarios/token-economy.js';

const SCENARIOS: readonly Scenario[] = [
  throughputScenario,
  latencyScenario,
  tokenEconomyScenario,
  redisCommandsScenario,
  memoryScenario,
  poolCpuScenario,
  serverTimingCpuScenario,
];

function chooseScenarios(argv: string[]): { scenarios: readonly Scenario[]; mode: BenchReport['mode'] } {
  const { values } = parseArgs({
    args: argv,
    options: { soak: { type: 'boolean' }, 'soak-minutes': { type: 'string' }, only: { type: 'string' } },
  });
  if (values.soak || values['soak-minutes']) {
    const minutes = Number(values['soak-minutes'] ?? 10);
    if (!(minutes > 0)) throw new Error(`--soak-minutes must be a positive number, got ${values['soak-minutes']}`);
    return { scenarios: [soakScenario(minutes)], mode: 'soak' };
  }
  if (values.only) {
    const ids = values.only.split(',').map((id) => id.trim());
    const unknown = ids.filter((id) => !SCENARIOS.some((s) => s.id === id));
    if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
    return { scenarios: SCENARIOS.filter((s) => ids.includes(s.id)), mode: 'partial' };
  }
  return { scenarios: SCENARIOS, mode: 'full' };
}

async function main(argv: string[]): Promise<void> {
  const { scenarios, mode } = chooseScenarios(argv);
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run npm run build first (npm run bench does)`);
  const machine = describeMachine();
  const startedAt = new Date();
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  process.stdout.write(`${caveats(machine)}\n\n`);

  const upstream = await startFastUpstream();
  const sections: Section[] = [];
  const figures: Record<string, unknown> = {};
  try {
    for (const scenario of scenarios) {
      const outcome = await scenario.run({ upstream, machine, log });
      sections.push(outcome.section);
      figures[scenario.id] = outcome.figures;
      process.stdout.write(`${renderSectionText(outcome.section)}\n\n`);
    }
  } finally {
    await upstream.stop();
  }

  const goals = evaluateGoals(figures as FiguresByScenario);
  process.stdout.write(`${renderGoalsText(goals)}\n\n`);
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((performance.now() - started) / 1000),
    loadAverageAtEnd: Math.round(loadavg()[0]! * 100) / 100,
    mode,
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    machine,
    sections,
    figures: figures as FiguresByScenario,
    goals,
  };
  for (const path of writeReport(report)) process.stdout.write(`wrote ${path}\n`);
}

// Ctrl-C: stop every process the benchmark started before going.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the benchmark's processes\n`);
    void stopAllChildren().finally(() => process.exit(130));
  });
}

main(process.argv.slice(2)).then(
  () => stopAllChildren(),
  async (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`);
    await stopAllChildren();
    process.exitCode = 1;
  },
);
