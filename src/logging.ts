import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import { redactLogObject } from './logging/redact.js';
import { scrubArgs, SERIALIZERS } from './logging/serializers.js';

/**
 * The sidecar's logger: pino JSON, one object a line, or pino-pretty for a terminal (LOG_FORMAT=pretty),
 * built with the redaction of logging/redact.ts (every log object, every message) and the
 * serializers of logging/serializers.ts (errors and requests; `req` is logged as method and path
 * only: no query string, no headers).
 */

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'pretty';
  readonly base?: Record<string, unknown>;
  /** Where lines go (tests); default stdout. */
  readonly destination?: DestinationStream;
}

/** The pino options every sidecar logger is built with: redaction, safe serializers, scrubbed messages. */
export function loggerOptions(opts: Pick<LoggerOptions, 'level' | 'base'>): PinoOptions {
  return {
    level: opts.level,
    base: opts.base ?? { pid: process.pid },
    formatters: {
      log: (object) => redactLogObject(object) as Record<string, unknown>,
    },
    // Serializers run after the formatter and also cover fastify's own `{ req, res, err }` lines.
    serializers: SERIALIZERS,
    hooks: {
      logMethod(args, method) {
        return method.apply(this, scrubArgs(args as unknown[]) as Parameters<typeof method>);
      },
    },
  };
}

export function createLogger(opts: LoggerOptions): Logger {
  const options = loggerOptions(opts);
  if (opts.format === 'pretty') {
    // Loaded only when asked for; synchronous, so the last lines before process.exit are never lost.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty').PinoPretty;
    const destination = opts.destination ?? 1;
    const colorize = opts.destination === undefined && process.stdout.isTTY === true;
    return pino(options, pretty({ destination, sync: true, colorize, translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export type { Logger };
