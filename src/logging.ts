import pino, { type Logger } from 'pino';

/**
 * Paths pino censors wherever they appear (defence in depth: the code never logs a token or secret
 * on purpose). fast-redact matches exact paths with one-level wildcards, hence the repetitions.
 */
const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-sidecar-key"]',
  'headers["x-sidecar-key"]',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'inboundApiKey',
  '*.authorization',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.clientSecret',
  '*.client_secret',
  '*.inboundApiKey',
  'err.config',
];

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'pretty';
  readonly base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino({
    level: opts.level,
    base: opts.base ?? { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '<redacted>' },
    ...(opts.format === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
  });
}

export type { Logger };
