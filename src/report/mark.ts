import { readFile, writeFile } from 'node:fs/promises';
import { familyOf, type Sample } from './prom-text.js';
import type { InstanceScrape } from './scrape.js';

/**
 * The mark file (`token-sidecar report --mark FILE`): every counter and histogram sample of each
 * instance at the start of a run, keyed by instance id, so a later report can count from there.
 * Gauges are left out: a gauge has no "since" (the pool size peak is since each instance started).
 */

export const MARK_KIND = 'token-sidecar-mark';
export const MARK_VERSION = 1;

export interface MarkInstance {
  readonly instanceId: string;
  readonly admin: string;
  readonly samples: readonly Sample[];
}

export interface Mark {
  readonly kind: typeof MARK_KIND;
  readonly version: typeof MARK_VERSION;
  /** ISO 8601. */
  readonly takenAt: string;
  readonly instances: readonly MarkInstance[];
}

export class MarkFileError extends Error {}

export function markOf(scrapes: readonly InstanceScrape[], takenAt: Date): Mark {
  return {
    kind: MARK_KIND,
    version: MARK_VERSION,
    takenAt: takenAt.toISOString(),
    instances: scrapes.map(({ instanceId, admin, exposition }) => ({
      instanceId,
      admin,
      samples: exposition.samples.filter((sample) => {
        const type = exposition.types.get(familyOf(sample.name, exposition.types));
        return type === 'counter' || type === 'histogram';
      }),
    })),
  };
}

export async function writeMark(path: string, mark: Mark): Promise<void> {
  await writeFile(path, `${JSON.stringify(mark, null, 1)}\n`);
}

export async function readMark(path: string): Promise<Mark> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MarkFileError(`cannot read the mark file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let mark: Partial<Mark>;
  try {
    mark = JSON.parse(text) as Partial<Mark>;
  } catch {
    throw new MarkFileError(`${path} is not JSON: not a mark file`);
  }
  if (mark?.kind !== MARK_KIND || mark.version !== MARK_VERSION || !Array.isArray(mark.instances) || typeof mark.takenAt !== 'string') {
    throw new MarkFileError(`${path} is not a token-sidecar mark file (version ${MARK_VERSION}); take one with token-sidecar report --mark FILE`);
  }
  return mark as Mark;
}
