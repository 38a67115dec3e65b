/**
 * What every Redis connection of the sidecar shares (connections.ts opens them, per mode): the
 * timeouts and reconnect backoff that make store and lock fail the same way, fast. A request path
 * must never hang on a dead Redis; callers fall back to their in-memory lifecycle when a call
 * rejects. Command connections never queue while disconnected (`enableOfflineQueue: false`) and a
 * command to a node that stops answering rejects after COMMAND_TIMEOUT_MS. Subscriber connections
 * have no command timeout and no ioredis auto-resubscribe: their owner subscribes on every 'ready'
 * (../store/redis/events.ts), because ioredis' own re-subscribe does not handle its rejection, and
 * a node that drops again during it would crash the process with an unhandled rejection.
 *
 * A URL may carry a password, so it is never logged: use `nodeLabel()`.
 */
import { once } from 'node:events';
import type { Cluster, Redis } from 'ioredis';

/**
 * A command reaching a stalled (e.g. SIGSTOPped) server rejects after this long. Not shorter: on a
 * CPU-starved machine commands to live local Redis nodes timed out at 500 ms (a starved event loop
 * reads the answer late), and a command that times out makes a refresh fall back to a token of this
 * instance's own, which, with a provider that revokes the previous token on issue, cuts off the
 * token the rest of the fleet is sending.
 */
export const COMMAND_TIMEOUT_MS = 2_000;
export const CONNECT_TIMEOUT_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 1_000;

/** Reconnect forever with a backoff capped at one second: recovery is noticed within a second. */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);
}

/**
 * Resolves once every client's first connection attempt has ended, connected or failed (at most
 * CONNECT_TIMEOUT_MS). Until then a fail-fast client rejects commands merely because its socket is
 * still opening; callers await this before their first command so a fresh instance does not treat
 * a healthy Redis as down. Afterwards it is an already-resolved promise.
 */
export async function firstConnectionAttempts(clients: readonly (Redis | Cluster)[]): Promise<void> {
  const signal = AbortSignal.timeout(CONNECT_TIMEOUT_MS);
  const opening = clients.filter((client) => client.status === 'connecting' || client.status === 'connect');
  // `once` rejects on an 'error' event or on the timeout: both end the attempt as well.
  await Promise.all(
    opening.map((client) =>
      Promise.race([once(client, 'ready', { signal }), once(client, 'close', { signal })]).catch(() => {}),
    ),
  );
}

/** `host:port` of a node URL: safe to log (no password, no user name). */
export function nodeLabel(url: string): string {
  try {
    // ioredis also takes `host:port` without a scheme.
    const parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `redis://${url}`);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'unparseable-redis-url';
  }
}

/** Connections closeClient was asked to close: their `end` is this process's doing, not ioredis giving up. */
const closedOnPurpose = new WeakSet<Redis | Cluster>();

export function isClosedOnPurpose(client: Redis | Cluster): boolean {
  return closedOnPurpose.has(client);
}

/**
 * Closes a connection politely when it is up (QUIT), at once when it is not (QUIT would wait for it).
 * A node's connection (not a cluster's) ends with disconnect() either way: only that closes what it
 * holds beside its socket, the sentinel connections a Sentinel-found one listens on for failovers,
 * which would otherwise reconnect to the sentinels once a minute and keep the process alive.
 */
export async function closeClient(client: Redis | Cluster): Promise<void> {
  closedOnPurpose.add(client);
  if (client.status === 'ready') {
    try {
      await client.quit();
      if (client.isCluster) return;
    } catch {
      // the node went away between the check and QUIT: drop the socket below
    }
  }
  client.disconnect();
}
