import { parseExposition, type Exposition } from './prom-text.js';

/**
 * Reads one sidecar instance through its admin port: `GET /metrics` (the Prometheus text) and
 * `GET /token` (for the instance id that keys a mark, and the token metadata `top` shows).
 */

export interface InstanceScrape {
  /** The admin URL as given (no trailing slash). */
  readonly admin: string;
  /** The instance id from `GET /token`; with WORKERS > 1, the workers' ids joined by `+`. */
  readonly instanceId: string;
  readonly exposition: Exposition;
  /** `GET /token`'s answer as it came (metadata only: it never holds a token). */
  readonly token: unknown;
  /** When the scrape was taken (ms since the epoch). */
  readonly at: number;
}

/** An admin port that did not answer, answered an error, or answered something unreadable. */
export class AdminUnreachableError extends Error {
  constructor(
    readonly admin: string,
    reason: string,
  ) {
    super(`admin port ${admin} unreachable: ${reason}`);
  }
}

const TIMEOUT_MS = 5_000;

/** Splits `--admin URL[,URL…]` into URLs without trailing slashes; a bare `host:port` gets `http://`. */
export function parseAdminList(list: string): string[] {
  return list
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '')
    .map((url) => (/^https?:\/\//.test(url) ? url : `http://${url}`).replace(/\/+$/, ''));
}

/** Scrapes every admin port at once; the first that fails rejects with AdminUnreachableError. */
export function scrapeAll(admins: readonly string[], headers: Record<string, string> = {}): Promise<InstanceScrape[]> {
  return Promise.all(admins.map((admin) => scrapeInstance(admin, headers)));
}

export async function scrapeInstance(admin: string, headers: Record<string, string> = {}): Promise<InstanceScrape> {
  const [metricsText, token] = await Promise.all([get(admin, '/metrics', headers, (r) => r.text()), get(admin, '/token', headers, (r) => r.json() as Promise<unknown>)]);
  let exposition: Exposition;
  try {
    exposition = parseExposition(metricsText);
  } catch (err) {
    throw new AdminUnreachableError(admin, `/metrics is not Prometheus text (${(err as Error).message})`);
  }
  return { admin, instanceId: instanceIdOf(admin, token), exposition, token, at: Date.now() };
}

async function get<T>(admin: string, path: string, headers: Record<string, string>, read: (response: Response) => Promise<T>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${admin}${path}`, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new AdminUnreachableError(admin, `GET ${path}: ${reason}`);
  }
  if (!response.ok) throw new AdminUnreachableError(admin, `GET ${path} answered ${response.status}`);
  try {
    return await read(response);
  } catch (err) {
    throw new AdminUnreachableError(admin, `GET ${path}: unreadable answer (${(err as Error).message})`);
  }
}

function instanceIdOf(admin: string, token: unknown): string {
  const body = token as { instanceId?: unknown; workers?: Array<{ instanceId?: unknown }> } | null;
  if (typeof body?.instanceId === 'string') return body.instanceId;
  if (Array.isArray(body?.workers)) {
    const ids = body.workers.map((worker) => worker?.instanceId).filter((id): id is string => typeof id === 'string');
    if (ids.length > 0) return ids.sort().join('+');
  }
  throw new AdminUnreachableError(admin, 'GET /token names no instanceId (is this a token-sidecar admin port?)');
}
