/**
 * The token store on one Redis primary (a node, or the primary Sentinel points to, or a Redis
 * Cluster, which counts as one), or on several independent Redis nodes (not a cluster) that share
 * the load of being right: the store keeps working while a minority of them is down.
 *
 * Per node, correctness comes from Lua compare-and-set scripts (./redis/scripts.ts). Across nodes,
 * from majorities: every operation goes to every node at once and needs answers from a quorum
 * (floor(N/2)+1) or it rejects (`RedisQuorumError`) and the caller serves from memory. Because any
 * two quorums share a node:
 *   - a write that landed on a quorum is seen by every later quorum read (get returns the highest
 *     unexpired generation among the answers);
 *   - a generation handed out by a quorum is exceeded by every later nextGeneration.
 * A write that lands on a minority only reports false; it is still a genuinely newer token, so a
 * read that sees it may return it, and the nodes that took it announce it.
 *
 * Layout per node: the keys of ./redis/scripts.ts under each `tokenKey()` and `poolKey()`, those of
 * ./redis/run-control.ts under `requestCountKey()` and `haltKey()`, those of ./redis/rate-counts.ts
 * under `rateKey()`, and one pub/sub channel (`channel`, default `token-sidecar:events`) carrying
 * ./redis/record.ts events. In a cluster every key of a profile shares the profile's hash tag
 * (./key.ts), and events go over sharded pub/sub on the profile's channel (`profileEventsChannel()`),
 * on the same slot as the keys: no script ever touches two slots.
 *
 * Every command is bounded (../redis/client.ts): an unreachable node answers at once with an error,
 * a stalled one after the command timeout (2 s), so no call waits longer than that; only the calls made
 * while the connections are first being opened wait for that first (bounded) attempt.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Token } from '../token/token.js';
import {
  checkPoolSizeArguments,
  checkReserveArguments,
  oldestKeptBucket,
  type HaltRecord,
  type PoolSizeRecord,
  type PoolSizeStore,
  type RateCounter,
  type RequestReservation,
  type StoreListener,
  type TokenStore,
} from './store.js';
import { decodeHalt, defineRunControlScripts, encodeHalt } from './redis/run-control.js';
import { AvailabilityMonitor, quorumOf, type StoreLogger } from './redis/availability.js';
import { closeClient, firstConnectionAttempts } from '../redis/client.js';
import { openEndpoints, usesShardedPubSub, type RedisConnection } from '../redis/connections.js';
import { eventsChannelOfKey } from './key.js';
import { EventSubscription } from './redis/events.js';
import {
  decodePoolSize,
  decodeRefreshToken,
  decodeToken,
  encodeEvent,
  encodePoolSize,
  encodeRefreshToken,
  encodeToken,
  type RefreshRecord,
} from './redis/record.js';
import { defineRateCountScript, rateCounterKey } from './redis/rate-counts.js';
import { defineTokenScripts, generationCounterKey, highestWrittenKey, refreshTokenKey, type PublishCommand } from './redis/scripts.js';

export type { StoreLogger } from './redis/availability.js';

export interface RedisTokenStoreOptions {
  /**
   * One URL per independent node (`redis://`, `rediss://`, `redis://:password@host:port`): short for
   * a `nodes` connection without further settings.
   */
  readonly urls?: readonly string[];
  /** How to reach Redis (../redis/connections.ts); takes the place of `urls`. */
  readonly connection?: RedisConnection;
  /** The pub/sub channel for store events; the composer passes `<key prefix>:events`. */
  readonly channel?: string;
  /**
   * Redis Cluster only: the shard channels to listen on, one per profile (`profileEventsChannel()`).
   * Events of a key go to the channel of its tag whatever this says; a store that only writes
   * (login) passes none.
   */
  readonly shardChannels?: readonly string[];
  /** Hears availability transitions, once each. Never given a URL, a token or a password. */
  readonly logger?: StoreLogger;
  /** Clock for TTLs and expiry checks on read (default Date.now). */
  readonly now?: () => number;
}

/**
 * Fewer than a quorum of nodes answered: the store cannot tell what is current. Carries only the
 * first node error's message: ioredis errors may hold the command's arguments (a token record).
 */
export class RedisQuorumError extends Error {
  constructor(operation: string, answered: number, quorum: number, nodeCount: number, firstError?: unknown) {
    const reason = firstError instanceof Error ? `: ${firstError.message}` : '';
    super(`redis store ${operation}: ${answered} of ${nodeCount} nodes answered, ${quorum} needed${reason}`);
    this.name = 'RedisQuorumError';
  }
}

interface NodeConnections {
  readonly label: string;
  readonly client: Redis | Cluster;
  readonly subscriber: Redis | Cluster;
}

interface Answer<T> {
  readonly node: NodeConnections;
  readonly value: T;
}

export class RedisTokenStore implements TokenStore, PoolSizeStore {
  private readonly nodes: readonly NodeConnections[];
  private readonly quorum: number;
  private readonly channel: string;
  private readonly publish: PublishCommand;
  private readonly now: () => number;
  private readonly availability: AvailabilityMonitor;
  private readonly events: EventSubscription;
  private readonly connecting: Promise<void>;

  constructor(options: RedisTokenStoreOptions) {
    const connection: RedisConnection = options.connection ?? { target: { mode: 'nodes', urls: options.urls ?? [] } };
    if (connection.target.mode === 'nodes' && connection.target.urls.length === 0) {
      throw new Error('RedisTokenStore needs at least one Redis URL');
    }
    const commands = openEndpoints(connection, 'command');
    const subscribers = openEndpoints(connection, 'subscriber');
    this.nodes = commands.map((endpoint, i) => ({
      label: endpoint.label,
      client: defineRateCountScript(defineRunControlScripts(defineTokenScripts(endpoint.client))),
      subscriber: subscribers[i]!.client,
    }));
    this.quorum = quorumOf(this.nodes.length);
    this.channel = options.channel ?? 'token-sidecar:events';
    const sharded = usesShardedPubSub(connection);
    this.publish = sharded ? 'SPUBLISH' : 'PUBLISH';
    this.now = options.now ?? Date.now;
    this.connecting = firstConnectionAttempts(this.nodes.map((node) => node.client));
    this.availability = new AvailabilityMonitor(this.nodes, options.logger);
    this.events = new EventSubscription(
      this.nodes.map((node) => node.subscriber),
      sharded ? { sharded, channels: options.shardChannels ?? [] } : { sharded, channel: this.channel },
    );
  }

  /** Where the events of `key` are published. */
  private channelOf(key: string): string {
    return this.publish === 'SPUBLISH' ? eventsChannelOfKey(key) : this.channel;
  }

  get available(): boolean {
    return this.availability.isAvailable;
  }

  onAvailabilityChange(listener: (available: boolean) => void): void {
    this.availability.onChange(listener);
  }

  async get(key: string): Promise<Token | null> {
    const answers = await this.askQuorum('get', (client) => client.get(key));
    const now = this.now();
    let newest: Token | null = null;
    for (const { value } of answers) {
      const token = decodeToken(value);
      if (token && token.expiresAt > now && (!newest || token.generation > newest.generation)) newest = token;
    }
    return newest;
  }

  /**
   * Each node steps its own counter past everything it has handed out or stored; the result is the
   * highest of a quorum's answers, and lagging nodes are raised to it so the counters converge.
   * It counts as handed out only once a quorum holds a counter at least that high; that is what
   * makes the next call's quorum (which shares a node with this one) go past it.
   *
   * Calls from one instance reach every node in the same order and so get distinct numbers. Calls
   * from two instances at the same moment may both get the same number on several nodes; that is
   * safe: both are newer than everything before, and putIfNewer lands only one of them.
   */
  async nextGeneration(key: string): Promise<number> {
    const counterKey = generationCounterKey(key);
    const answers = await this.askQuorum('nextGeneration', (client) =>
      client.tokenNextGeneration(counterKey, highestWrittenKey(key)),
    );
    const generation = Math.max(...answers.map(({ value }) => value));
    const lagging = answers.filter(({ value }) => value < generation);
    const raised = await Promise.allSettled(
      lagging.map(({ node }) => node.client.tokenRaiseGeneration(counterKey, generation)),
    );
    const holding = answers.length - lagging.length + raised.filter((r) => r.status === 'fulfilled').length;
    if (holding < this.quorum) {
      throw new RedisQuorumError('nextGeneration', holding, this.quorum, this.nodes.length);
    }
    return generation;
  }

  /** Lands when it landed on a quorum. Each node that took it publishes it (listeners hear it once). */
  async putIfNewer(key: string, token: Token): Promise<boolean> {
    const ttlMs = Math.max(1, Math.ceil(token.expiresAt - this.now()));
    const record = encodeToken(token);
    const event = encodeEvent({ type: 'stored', key, token });
    const answers = await this.askQuorum('putIfNewer', (client) =>
      client.tokenPutIfNewer(key, highestWrittenKey(key), token.generation, record, ttlMs, this.channelOf(key), event, this.publish),
    );
    return answers.filter(({ value }) => value === 1).length >= this.quorum;
  }

  /** Removes that generation from every answering node that holds it; true if any did. */
  async invalidate(key: string, generation: number): Promise<boolean> {
    const event = encodeEvent({ type: 'invalidated', key, generation });
    const answers = await this.askQuorum('invalidate', (client) =>
      client.tokenInvalidate(key, generation, this.channelOf(key), event, this.publish),
    );
    return answers.some(({ value }) => value === 1);
  }

  /** The refresh token with the highest generation among a quorum's answers. */
  async getRefreshToken(key: string): Promise<string | null> {
    const answers = await this.askQuorum('getRefreshToken', (client) => client.get(refreshTokenKey(key)));
    let newest: RefreshRecord | null = null;
    for (const { value } of answers) {
      const record = decodeRefreshToken(value);
      if (record && (!newest || record.generation > newest.generation)) newest = record;
    }
    return newest?.refreshToken ?? null;
  }

  /** Lands when it landed on a quorum, like putIfNewer; never published. */
  async putRefreshToken(key: string, refreshToken: string, generation: number): Promise<boolean> {
    const record = encodeRefreshToken({ refreshToken, generation });
    const answers = await this.askQuorum('putRefreshToken', (client) =>
      client.tokenPutRefreshIfNewer(refreshTokenKey(key), generation, record),
    );
    return answers.filter(({ value }) => value === 1).length >= this.quorum;
  }

  /**
   * The record with the highest epoch among a quorum's answers. Two setters that read the same epoch
   * while nodes were split may each have landed on a minority, leaving two records of one epoch:
   * the larger size wins (growing too far costs a token; shrinking too early costs 429s), and the
   * next set, made against that epoch, lands on every node.
   */
  async getPoolSize(key: string): Promise<PoolSizeRecord | null> {
    const answers = await this.askQuorum('getPoolSize', (client) => client.get(key));
    let newest: PoolSizeRecord | null = null;
    for (const { value } of answers) {
      const record = decodePoolSize(value);
      if (record && (!newest || record.epoch > newest.epoch || (record.epoch === newest.epoch && record.size > newest.size))) {
        newest = record;
      }
    }
    return newest;
  }

  /**
   * Lands when it landed on a quorum. Each node takes it unless its own record is newer than
   * `expectedEpoch`, so of setters that read the same epoch at most one lands on a quorum (any two
   * quorums share a node, and that node took only the first).
   */
  async setPoolSize(key: string, expectedEpoch: number, size: number, updatedAt: number, stopped?: string): Promise<boolean> {
    checkPoolSizeArguments(expectedEpoch, size);
    const record = encodePoolSize({ size, epoch: expectedEpoch + 1, updatedAt, ...(stopped !== undefined && { stopped }) });
    const answers = await this.askQuorum('setPoolSize', (client) => client.tokenSetPoolSize(key, expectedEpoch, record));
    return answers.filter(({ value }) => value === 1).length >= this.quorum;
  }

  /**
   * One script call per node whatever the number of counters; a quorum must answer. Every node
   * counts what reached it, so the highest answer is the one that missed the least.
   */
  async addRateCounts(key: string, bucket: number, windowBuckets: number, ttlSeconds: number, counters: readonly RateCounter[]): Promise<number[]> {
    const keys = counters.map(({ name }) => rateCounterKey(key, name));
    const deltas = counters.map(({ delta }) => delta);
    const oldest = oldestKeptBucket(bucket, windowBuckets);
    const answers = await this.askQuorum('addRateCounts', (client) =>
      client.tokenAddRateCounts(keys.length, ...keys, bucket, bucket - windowBuckets, oldest, ttlSeconds, ...deltas),
    );
    return counters.map((_, i) => {
      let highest = 0;
      for (const { value } of answers) if (Number(value[i]) > highest) highest = Number(value[i]);
      return highest;
    });
  }

  /**
   * Each answering node grants by its own count; the caller gets the smallest grant and the largest
   * count. Exact on one node, and on several while they all answer (their counts stay equal). With a
   * node down, reservations made through different quorums may each miss a node's count, so the cap
   * can be passed by up to the blocks reserved while nodes disagreed; a node that granted more than
   * the caller got only makes the cap stricter.
   */
  async reserveRequests(key: string, limit: number, maxBlock: number): Promise<RequestReservation> {
    checkReserveArguments(limit, maxBlock);
    const answers = await this.askQuorum('reserveRequests', (client) => client.runReserveRequests(key, limit, maxBlock));
    let granted = Number.POSITIVE_INFINITY;
    let used = 0;
    for (const { value } of answers) {
      granted = Math.min(granted, Number(value[0]));
      used = Math.max(used, Number(value[1]));
    }
    return { granted, used };
  }

  async resetRequests(key: string): Promise<void> {
    await this.askQuorum('resetRequests', (client) => client.del(key));
  }

  /** The newest record among a quorum's answers: a node that missed a resume cannot halt the fleet again. */
  async getHalt(key: string): Promise<HaltRecord | null> {
    const answers = await this.askQuorum('getHalt', (client) => client.get(key));
    let newest: HaltRecord | null = null;
    for (const { value } of answers) {
      const record = decodeHalt(value);
      if (record && (!newest || record.at > newest.at)) newest = record;
    }
    return newest;
  }

  async setHalt(key: string, record: HaltRecord): Promise<void> {
    const value = encodeHalt(record);
    await this.askQuorum('setHalt', (client) => client.set(key, value));
  }

  subscribe(listener: StoreListener): Promise<() => Promise<void>> {
    return this.events.listen(listener);
  }

  async close(): Promise<void> {
    this.availability.stop();
    this.events.stop();
    await Promise.all(this.nodes.flatMap((node) => [closeClient(node.client), closeClient(node.subscriber)]));
  }

  /** Runs `command` on every node at once; the answers, or RedisQuorumError if fewer than a quorum. */
  private async askQuorum<T>(operation: string, command: (client: Redis | Cluster) => Promise<T>): Promise<Answer<T>[]> {
    await this.connecting;
    const results = await Promise.allSettled(
      this.nodes.map(async (node) => ({ node, value: await command(node.client) })),
    );
    const answers = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    if (answers.length < this.quorum) {
      const failure = results.find((result) => result.status === 'rejected');
      throw new RedisQuorumError(operation, answers.length, this.quorum, this.nodes.length, failure?.reason);
    }
    return answers;
  }
}
