#!/usr/bin/env node
// First, before the modules that allocate: see v8-flags.ts.
import './v8-flags.js';
import { ConfigError, loadConfig } from './config/load.js';
import { serveHelp } from './config/help.js';
import { createLogger } from './logging.js';
import { VERSION } from './version.js';

/**
 * The only module that reads process.argv/env; serve.ts listens and handles signals.
 * Exit codes (contract): 0 clean stop, 2 bad usage or configuration, 1 anything else.
 */
const EXIT_USAGE = 2;

async function main(argv: string[]): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(serveHelp());
    return 0;
  }
  switch (first) {
    case 'mock': {
      const { runMock } = await import('./mock/main.js');
      const { MockUsageError } = await import('./mock/options.js');
      try {
        await runMock(rest, process.env);
      } catch (err) {
        if (!(err instanceof MockUsageError)) throw err;
        reportProblems('invalid mock settings', err.problems, 'token-sidecar mock --help');
        return EXIT_USAGE;
      }
      return undefined;
    }
    case 'demo': {
      const { runDemo } = await import('./demo/main.js');
      return runDemo(rest, process.env);
    }
    case 'login': {
      const { runLogin } = await import('./login/command.js');
      return runLogin(rest, process.env);
    }
    case 'report': {
      const { runReport } = await import('./report/command.js');
      return runReport(rest, process.env);
    }
    case 'top': {
      const { runTop } = await import('./top/command.js');
      return runTop(rest, process.env);
    }
    case 'check': {
      const { runCheck } = await import('./check/command.js');
      return runCheck(rest, process.env);
    }
    case 'serve':
      return serve(rest);
    default:
      if (first !== undefined && !first.startsWith('-')) {
        process.stderr.write(`token-sidecar: unknown command "${first}" (commands: serve, check, mock, demo, login, report, top; see --help)\n`);
        return EXIT_USAGE;
      }
      return serve(argv);
  }
}

async function serve(argv: string[]): Promise<number | undefined> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(serveHelp());
    return 0;
  }
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      reportProblems('invalid configuration', err.problems, 'token-sidecar --help');
      return EXIT_USAGE;
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const { runServe, ListenError } = await import('./serve.js');
  try {
    await runServe(config, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      reportProblems('Redis refuses the configured connection', err.problems, 'token-sidecar --help and the README\'s Redis section');
      return EXIT_USAGE;
    }
    if (!(err instanceof ListenError)) throw err;
    reportProblems('cannot listen', [err.message], 'token-sidecar --help');
    // Token fetches and store connections have started: leave without waiting for them.
    process.exit(EXIT_USAGE);
  }
  return undefined;
}

function reportProblems(what: string, problems: readonly string[], help: string): void {
  process.stderr.write(`token-sidecar: ${what} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`);
  for (const problem of problems) process.stderr.write(`  - ${problem}\n`);
  process.stderr.write(`See ${help}.\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`token-sidecar: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
