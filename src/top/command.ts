import { parseFlags } from '../report/args.js';
import { parseAdminList, scrapeInstance } from '../report/scrape.js';
import { snapshotOf, type Snapshot } from './snapshot.js';
import { renderLine, renderScreen, rowFigures, totalOf, type Row, type RowFigures } from './view.js';

/**
 * `token-sidecar top --admin URL[,URL…]`: reads every instance's admin port once per interval and
 * shows per instance and in total what the run is doing. On a terminal (stdin and stdout TTYs) it
 * redraws in the alternate screen and `q` (or Ctrl-C) quits; otherwise it prints one line per
 * interval until stopped (SIGINT/SIGTERM, or `--count` lines). An instance that does not answer is
 * shown as unreachable and asked again next time. Exit 0 when quit, 2 on bad usage.
 */
export async function runTop(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, booleans, problems } = parseFlags(argv, { valued: ['--admin', '--interval', '--count', '--inbound-key'], repeatable: ['--admin'], booleans: ['--help', '-h'] });
  if (booleans.has('--help') || booleans.has('-h')) {
    process.stdout.write(TOP_HELP);
    return 0;
  }
  const all = [...problems];
  const admins = (values.get('--admin') ?? []).flatMap(parseAdminList);
  if (admins.length === 0) all.push('--admin: required, the admin URL of each instance');
  const intervalText = values.get('--interval')?.[0] ?? '1';
  const intervalSeconds = Number(intervalText);
  if (!(intervalSeconds >= 0.2 && intervalSeconds <= 3600)) all.push(`--interval: seconds from 0.2 to 3600, got ${JSON.stringify(intervalText)}`);
  const countText = values.get('--count')?.[0];
  const count = countText === undefined ? Number.POSITIVE_INFINITY : Number(countText);
  if (countText !== undefined && !(Number.isInteger(count) && count >= 1)) all.push(`--count: a whole number of intervals from 1, got ${JSON.stringify(countText)}`);
  if (all.length > 0) {
    process.stderr.write(`token-sidecar top: bad usage:\n${all.map((p) => `  - ${p}\n`).join('')}See token-sidecar top --help.\n`);
    return 2;
  }
  const key = values.get('--inbound-key')?.[0] ?? env.INBOUND_API_KEY;
  const headers: Record<string, string> = key ? { 'x-sidecar-key': key } : {};

  const terminal = process.stdout.isTTY === true && process.stdin.isTTY === true;
  let stopped = false;
  let wake: () => void = () => {};
  const stop = () => {
    stopped = true;
    wake();
  };
  const onKey = (data: Buffer) => {
    const text = data.toString();
    if (text.includes('q') || text.includes('Q') || text.includes('\u0003')) stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (terminal) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', onKey);
    process.stdin.resume();
    // The alternate screen, cursor hidden: the shell's screen comes back as it was on quit.
    process.stdout.write('\u001b[?1049h\u001b[?25l');
  }
  const previous = new Map<string, Snapshot>();
  try {
    for (let drawn = 0; !stopped && drawn < count; drawn++) {
      const rows = await Promise.all(admins.map((admin) => rowOf(admin, previous, headers)));
      const total = totalOf(rows.flatMap((row) => (row.figures ? [row.figures] : [])));
      const now = new Date();
      if (terminal) process.stdout.write(`\u001b[H\u001b[2J${renderScreen(rows, total, now).join('\n')}\n`);
      else process.stdout.write(`${renderLine(rows, total, now)}\n`);
      if (drawn + 1 < count) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalSeconds * 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        if (stopped) wake();
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (terminal) {
      process.stdout.write('\u001b[?25h\u001b[?1049l');
      process.stdin.off('data', onKey);
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }
  return 0;
}

async function rowOf(admin: string, previous: Map<string, Snapshot>, headers: Record<string, string>): Promise<Row> {
  const name = shortName(admin);
  try {
    const scrape = await scrapeInstance(admin, headers);
    const snapshot = snapshotOf(scrape);
    // A restarted instance has a new id and counters from zero: its first interval shows no rate.
    const key = `${admin} ${scrape.instanceId}`;
    const figures: RowFigures = rowFigures(previous.get(key), snapshot);
    for (const known of previous.keys()) if (known.startsWith(`${admin} `)) previous.delete(known);
    previous.set(key, snapshot);
    return { name, figures };
  } catch (err) {
    return { name, error: `unreachable (${(err as Error).message.replace(/^admin port \S+ unreachable: /, '')})` };
  }
}

function shortName(admin: string): string {
  try {
    return new URL(admin).host;
  } catch {
    return admin;
  }
}

const TOP_HELP = `Usage: token-sidecar top --admin URL[,URL…] [--interval SECONDS] [--count N]

A live view of a fleet of sidecars from their admin ports (GET /metrics and GET /token), redrawn
every interval (default 1 s): per instance and in total, requests per second sent upstream and their
status mix, answers the sidecar gave itself, pool size and the budget left in the tokens' rate
windows, the oldest token's age and the next planned refresh, 401 replays, rate-limited requests and
lock waits. On a terminal it draws full screen and q quits; without one it prints one line per
interval (the fleet's total) until stopped or --count lines are printed.

Options:
  --admin URL[,URL…]   each instance's admin URL (repeatable; host:port means http://host:port)
  --interval SECONDS   how often to read and redraw (default 1)
  --count N            stop after N intervals
  --inbound-key KEY    sent as x-sidecar-key (default: INBOUND_API_KEY from the environment)
`;
