import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** What Redis ran between begin() and end() of one window. */
export interface CommandWindow {
  /** Length of the window on the Redis server's clock (MONITOR timestamps of the two markers). */
  readonly seconds: number;
  /**
   * INFO commandstats deltas, by command: every command Redis ran, those a script ran included
   * (Redis counts them under their own names), without the window's own markers.
   */
  readonly calls: Record<string, number>;
  /**
   * Commands the clients sent (MONITOR, not run by a script), by lower-case name; a script call by
   * name and the SHA-1 of its script, `evalsha:<sha1>` or `eval:<sha1>`.
   */
  readonly sent: Record<string, number>;
  /** Commands run by scripts (MONITOR's source `lua`), by lower-case name. */
  readonly insideScripts: Record<string, number>;
}

/** The SHA-1 ioredis sends with EVALSHA for a command defined with this Lua text (ioredis Script). */
export const scriptSha = (lua: string | Buffer): string => createHash('sha1').update(lua).digest('hex');

/**
 * Counts Redis commands over windows of a run from two views of the same span: INFO commandstats
 * (how many of each command, the figure Redis itself keeps) and MONITOR (who sent them: which
 * script an EVALSHA ran, which commands a script ran, which came from the clients).
 *
 * The two views cover exactly the same commands: begin() sends CONFIG RESETSTAT and an ECHO marker
 * in one write, end() an ECHO marker and INFO in one write, and Redis runs the commands one client
 * wrote together back to back, so no other client's command falls between a reset and its marker.
 * MONITOR does not show CONFIG (an admin command); it shows the markers, which are taken back out of
 * the commandstats counts.
 *
 * MONITOR makes Redis copy every command to one more connection: cheap at the few dozen commands a
 * second a steady fleet sends, and the same for every window compared.
 *
 * One window at a time.
 */
export class CommandWindows {
  private readonly marker = `bench-window-${randomBytes(4).toString('hex')}`;
  private counting = false;
  private beganAt = 0;
  private sent: Record<string, number> = {};
  private insideScripts: Record<string, number> = {};
  private ended: ((seconds: number) => void) | undefined;

  private constructor(
    private readonly client: Redis,
    private readonly monitor: Redis,
  ) {
    monitor.on('monitor', (time: string, args: string[], source: string) => this.seen(Number(time), args, source));
  }

  static async open(url: string): Promise<CommandWindows> {
    const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    // Connection errors also reject the command that met them, which is where they are handled.
    client.on('error', () => {});
    const monitor = await client.monitor();
    monitor.on('error', () => {});
    return new CommandWindows(client, monitor);
  }

  async begin(): Promise<void> {
    if (this.counting || this.ended) throw new Error('a command window is already open');
    await this.client.pipeline().config('RESETSTAT').echo(`${this.marker}:begin`).exec();
  }

  async end(): Promise<CommandWindow> {
    const seconds = new Promise<number>((resolve) => (this.ended = resolve));
    const results = await this.client.pipeline().echo(`${this.marker}:end`).info('commandstats').exec();
    const info = results?.[1];
    if (!info || info[0]) throw info?.[0] ?? new Error('INFO commandstats did not answer');
    const calls: Record<string, number> = {};
    for (const match of String(info[1]).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
    // Counted after it ran: the reset itself, then both markers.
    takeBack(calls, 'config|resetstat', 1);
    takeBack(calls, 'echo', 2);
    return { seconds: await seconds, calls, sent: this.sent, insideScripts: this.insideScripts };
  }

  async close(): Promise<void> {
    this.monitor.disconnect();
    this.client.disconnect();
  }

  private seen(time: number, args: string[], source: string): void {
    const name = args[0]?.toLowerCase() ?? '';
    if (name === 'echo' && args[1] === `${this.marker}:begin`) {
      this.counting = true;
      this.beganAt = time;
      this.sent = {};
      this.insideScripts = {};
      return;
    }
    if (!this.counting) return;
    if (name === 'echo' && args[1] === `${this.marker}:end`) {
      this.counting = false;
      const ended = this.ended;
      this.ended = undefined;
      ended?.(time - this.beganAt);
      return;
    }
    if (source === 'lua') {
      add(this.insideScripts, name);
      return;
    }
    if (name === 'evalsha' && args[1] !== undefined) add(this.sent, `evalsha:${args[1].toLowerCase()}`);
    else if (name === 'eval' && args[1] !== undefined) add(this.sent, `eval:${scriptSha(unquoteMonitorArgument(args[1]))}`);
    else add(this.sent, name);
  }
}

function add(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function takeBack(calls: Record<string, number>, command: string, count: number): void {
  const left = (calls[command] ?? 0) - count;
  if (left > 0) calls[command] = left;
  else delete calls[command];
}

/**
 * MONITOR shows each argument as Redis's sdscatrepr() quotes it (\n, \r, \t, \a, \b, \\, and \xHH
 * for any other byte outside printable ASCII; ioredis has already turned \" back into "): the script
 * text of an EVAL, so that its SHA-1 can be taken, needs them undone, byte for byte.
 */
export function unquoteMonitorArgument(text: string): Buffer {
  const escapes: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, '\\': 0x5c, '"': 0x22 };
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    const next = text[i + 1];
    if (char === '\\' && next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (char === '\\' && next !== undefined && escapes[next] !== undefined) {
      bytes.push(escapes[next]);
      i += 1;
    } else {
      bytes.push(...Buffer.from(char));
    }
  }
  return Buffer.from(bytes);
}
