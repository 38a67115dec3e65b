/**
 * Receiving store events: one subscriber-mode connection per node, all on one channel; or, in a
 * Redis Cluster, one cluster subscriber on each profile's shard channel (SSUBSCRIBE: ioredis keeps
 * one subscriber connection per primary and subscribes again when a replica is promoted).
 *
 * With several nodes the same event arrives once from every node it landed on; listeners hear it
 * once (deduplicated by key, type and generation, which identify an event: a generation is stored
 * at most once per key, and removed at most once). Listeners are called asynchronously, like the
 * memory store's, so a throwing listener cannot break a connection's reply parsing.
 *
 * Events published while this instance's connection to a node is down are lost for it; callers
 * treat events as a shortcut and still read the store.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import type { StoreEvent, StoreListener } from '../store.js';
import { decodeEvent } from './record.js';

/** How many recent event identities are remembered to drop copies from other nodes. */
const REMEMBERED_EVENTS = 1_024;
/** How long `listen()` waits for a SUBSCRIBE on a node that is not reachable yet. */
const SUBSCRIBE_WAIT_MS = 1_000;
/** A cluster SSUBSCRIBE that failed (a shard not reachable yet) is tried again this much later. */
const SHARD_RETRY_MS = 500;

/** Where events arrive: one classic channel, or the profiles' shard channels of a cluster. */
export type EventChannels =
  | { readonly sharded: false; readonly channel: string }
  | { readonly sharded: true; readonly channels: readonly string[] };

export class EventSubscription {
  private readonly listeners = new Set<StoreListener>();
  private readonly recent = new Set<string>();
  /** Per node: resolves once its first SUBSCRIBE went through. */
  private readonly subscribed: Promise<void>[];

  private stopped = false;

  constructor(subscribers: readonly (Redis | Cluster)[], channels: EventChannels) {
    this.subscribed = subscribers.map((subscriber) =>
      channels.sharded ? this.followShards(subscriber as Cluster, channels.channels) : this.follow(subscriber as Redis, channels.channel),
    );
  }

  private follow(subscriber: Redis, channel: string): Promise<void> {
    return new Promise<void>((firstSubscribed) => {
      subscriber.on('message', (messageChannel: string, message: string) => {
        if (messageChannel === channel) this.deliver(message);
      });
      // Every connect starts unsubscribed. A SUBSCRIBE that fails (the node went away again)
      // is retried by the next 'ready'.
      subscriber.on('ready', () => {
        subscriber.subscribe(channel).then(() => firstSubscribed(), () => {});
      });
    });
  }

  /**
   * One SSUBSCRIBE per channel (ioredis takes only channels of one slot per call). After the first
   * success ioredis re-subscribes by itself on topology changes; until then a failure is retried.
   */
  private followShards(cluster: Cluster, channels: readonly string[]): Promise<void> {
    const wanted = new Set(channels);
    cluster.on('smessage', (messageChannel: string, message: string) => {
      if (wanted.has(messageChannel)) this.deliver(message);
    });
    return Promise.all(
      channels.map(
        (channel) =>
          new Promise<void>((subscribed) => {
            const attempt = () => {
              if (this.stopped) return;
              if (cluster.status !== 'ready') return void cluster.once('ready', attempt);
              cluster.ssubscribe(channel).then(
                () => subscribed(),
                () => setTimeout(attempt, SHARD_RETRY_MS).unref(),
              );
            };
            attempt();
          }),
      ),
    ).then(() => undefined);
  }

  /**
   * Adds a listener. Resolves once every node has confirmed the subscription, or after
   * `SUBSCRIBE_WAIT_MS` when some cannot, so events published after it resolves reach the listener
   * through every node that is up.
   */
  async listen(listener: StoreListener): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    await Promise.race([Promise.all(this.subscribed), delay(SUBSCRIBE_WAIT_MS, undefined, { ref: false })]);
    return async () => {
      this.listeners.delete(listener);
    };
  }

  stop(): void {
    this.stopped = true;
    this.listeners.clear();
  }

  private deliver(message: string): void {
    const event = decodeEvent(message);
    if (event === null || this.isCopy(event)) return;
    for (const listener of this.listeners) queueMicrotask(() => listener(event));
  }

  private isCopy(event: StoreEvent): boolean {
    const generation = event.type === 'stored' ? event.token.generation : event.generation;
    const identity = `${event.type}\n${event.key}\n${generation}`;
    if (this.recent.has(identity)) return true;
    this.recent.add(identity);
    if (this.recent.size > REMEMBERED_EVENTS) {
      const oldest = this.recent.values().next().value as string;
      this.recent.delete(oldest);
    }
    return false;
  }
}
