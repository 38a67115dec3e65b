import { writeFile } from 'node:fs/promises';
import { MarkFileError, markOf, readMark, writeMark, type Mark } from './mark.js';
import { parseReportArgs, reportHelp, ReportUsageError } from './options.js';
import { buildReport } from './report.js';
import { renderJson } from './render-json.js';
import { renderJunit } from './render-junit.js';
import { renderTable } from './render-table.js';
import { AdminUnreachableError, scrapeAll } from './scrape.js';

/** Exit codes of `token-sidecar report` (contract): 0 gates held, 1 a gate failed, 2 usage or an unreachable admin port. */
export const EXIT = { held: 0, gateFailed: 1, usage: 2 } as const;

interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: Io = { stdout: (text) => void process.stdout.write(text), stderr: (text) => void process.stderr.write(text) };

export async function runReport(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io = processIo): Promise<number> {
  const started = performance.now();
  let options;
  try {
    options = parseReportArgs(argv, env);
  } catch (err) {
    if (!(err instanceof ReportUsageError)) throw err;
    io.stderr(`token-sidecar report: bad usage (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):\n${err.problems.map((p) => `  - ${p}\n`).join('')}See token-sidecar report --help.\n`);
    return EXIT.usage;
  }
  if (options.action === 'help') {
    io.stdout(reportHelp());
    return EXIT.held;
  }
  try {
    let mark: Mark | undefined;
    if (options.action === 'report' && options.sinceFile !== undefined) mark = await readMark(options.sinceFile);
    const scrapes = await scrapeAll(options.admins, options.headers);
    if (options.action === 'mark') {
      await writeOutput(options.markFile, markOf(scrapes, new Date()), writeMark);
      io.stdout(`token-sidecar report: marked ${scrapes.length} instance${scrapes.length === 1 ? '' : 's'} (${scrapes.map((s) => s.instanceId).join(', ')}) in ${options.markFile}\n`);
      return EXIT.held;
    }
    const report = buildReport(scrapes, mark, options.gates, new Date());
    io.stdout(renderTable(report));
    if (options.jsonFile !== undefined) await writeOutput(options.jsonFile, renderJson(report));
    if (options.junitFile !== undefined) await writeOutput(options.junitFile, renderJunit(report, (performance.now() - started) / 1000));
    const failed = report.gates.filter((gate) => !gate.held);
    for (const gate of failed) io.stderr(`token-sidecar report: gate failed: ${gate.message}\n`);
    return failed.length === 0 ? EXIT.held : EXIT.gateFailed;
  } catch (err) {
    if (err instanceof AdminUnreachableError || err instanceof MarkFileError || err instanceof OutputFileError) {
      io.stderr(`token-sidecar report: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}

/** An output file (mark, JSON, JUnit) that could not be written: a usage problem, like a wrong path. */
class OutputFileError extends Error {}

async function writeOutput<T>(path: string, content: T, write: (path: string, content: T) => Promise<void> = (p, c) => writeFile(p, String(c))): Promise<void> {
  try {
    await write(path, content);
  } catch (err) {
    throw new OutputFileError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
