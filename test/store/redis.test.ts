import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisTokenStore, type StoreLogger } from '../../src/store/redis.js';
import { poolKey, tokenKey } from '../../src/store/key.js';
import type { Token } from '../../src/token/token.js';
import { RedisNode, startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';
import { storeContract, until, type MakeFixture } from './contract.js';

after(stopAllRedisNodes);

/** Stores on `nodeCount` fresh redis-servers, started once for the whole suite. */
function onFreshNodes(nodeCount: number): MakeFixture {
  let nodes: Promise<RedisNode[]> | undefined;
  return async (clock) => {
    nodes ??= startRedisNodes(nodeCount);
    const urls = (await nodes).map((node) => node.url);
    const opened: RedisTokenStore[] = [];
    return {
      open: async () => {
        const store = new RedisTokenStore({ urls, now: () => clock.now() });
        opened.push(store);
        return store;
      },
      close: async () => {
        await Promise.all(opened.map((store) => store.close()));
      },
    };
  };
}

storeContract('RedisTokenStore on one node', onFreshNodes(1));
storeContract('RedisTokenStore on three nodes', onFreshNodes(3));

/** A logger that keeps every line, to check what is logged and what never is. */
function recordingLogger() {
  const lines: { level: 'info' | 'warn'; fields: object; message: string }[] = [];
  const logger: StoreLogger = {
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
  };
  return { logger, lines, text: () => JSON.stringify(lines) };
}

const clientId = 'a1b2c3-client-id';
const key = tokenKey('sidecar-test', { tokenUrl: 'https://login.example/oauth/token', clientId, profile: 'default', slot: 0 });

function token(generation: number, lifetimeMs = 60_000): Token {
  const issuedAt = Date.now();
  return { accessToken: `secret-access-${generation}`, issuedAt, expiresAt: issuedAt + lifetimeMs, generation, fetchedBy: 'test' };
}

describe('RedisTokenStore as seen from Redis', () => {
  let node: RedisNode;
  let inspector: Redis;
  let store: RedisTokenStore;

  before(async () => {
    node = await RedisNode.start();
    inspector = new Redis(node.url);
  });
  afterEach(async () => {
    await store.close();
    await inspector.flushall();
  });
  after(() => inspector.quit());

  it('stores a token with a TTL that follows its expiry', async () => {
    store = new RedisTokenStore({ urls: [node.url] });
    await store.putIfNewer(key, token(1, 30_000));
    const ttl = await inspector.pttl(key);
    assert.ok(ttl > 29_000 && ttl <= 30_000, `PTTL ${ttl}`);
  });

  it('keeps the generation counter and the highest written generation without TTL', async () => {
    store = new RedisTokenStore({ urls: [node.url] });
    await store.nextGeneration(key);
    await store.putIfNewer(key, token(1));
    assert.equal(await inspector.pttl(`${key}:generation`), -1);
    assert.equal(await inspector.pttl(`${key}:written`), -1);
  });

  it('rejects a stalled writer after the newer token expired out of Redis', async () => {
    store = new RedisTokenStore({ urls: [node.url] });
    const stalled = await store.nextGeneration(key);
    await store.putIfNewer(key, token(stalled + 1, 30));
    await until(async () => (await inspector.exists(key)) === 0);
    assert.equal(await store.putIfNewer(key, token(stalled)), false);
  });

  it('writes keys under the prefix that never contain the client id', async () => {
    store = new RedisTokenStore({ urls: [node.url] });
    await store.nextGeneration(key);
    await store.putIfNewer(key, token(1));
    await store.putRefreshToken(key, 'secret-refresh', 1);
    const keys = await inspector.keys('*');
    assert.equal(keys.length, 4);
    for (const written of keys) {
      assert.ok(written.startsWith('sidecar-test:{'), written);
      assert.ok(!written.includes(clientId) && !written.includes('secret'), written);
    }
  });
});

describe('RedisTokenStore with a password', () => {
  const password = 'correct horse/42';
  let node: RedisNode;

  before(async () => {
    node = await RedisNode.start({ password });
  });

  it('connects with the password given in the URL', async () => {
    const store = new RedisTokenStore({ urls: [node.url] });
    try {
      assert.equal(await store.putIfNewer(key, token(1)), true);
      assert.equal((await store.get(key))?.generation, 1);
      assert.equal(store.available, true);
    } finally {
      await store.close();
    }
  });

  it('stays unavailable with a wrong password, and logs neither password', async () => {
    const { logger, lines, text } = recordingLogger();
    const wrongUrl = `redis://:battery-staple@127.0.0.1:${node.port}`;
    const store = new RedisTokenStore({ urls: [wrongUrl], logger });
    try {
      await assert.rejects(store.get(key));
      assert.equal(store.available, false);
      await until(() => lines.length > 0);
      assert.equal(lines[0]?.level, 'warn');
      assert.ok(!text().includes('battery') && !text().includes('horse'), text());
    } finally {
      await store.close();
    }
  });
});

describe('RedisTokenStore when Redis is down at start', () => {
  it('serves nothing, warns once, and recovers when Redis comes up', async () => {
    const [node] = await startRedisNodes(1);
    await node!.kill();
    const { logger, lines } = recordingLogger();
    const store = new RedisTokenStore({ urls: [node!.url], logger });
    try {
      await assert.rejects(store.get(key));
      await assert.rejects(store.nextGeneration(key));
      await until(() => lines.length === 1);
      await node!.restart();
      await until(() => store.available);
      assert.equal(await store.putIfNewer(key, token(1)), true);
      assert.deepEqual(
        lines.map(({ level }) => level),
        ['warn', 'info'],
      );
    } finally {
      await store.close();
    }
  });
});

describe('RedisTokenStore on three nodes when nodes fail', () => {
  let nodes: RedisNode[];
  let store: RedisTokenStore;
  let log: ReturnType<typeof recordingLogger>;
  const transitions: boolean[] = [];

  before(async () => {
    nodes = await startRedisNodes(3);
    log = recordingLogger();
    store = new RedisTokenStore({ urls: nodes.map((node) => node.url), logger: log.logger });
    await until(() => store.available);
    store.onAvailabilityChange((available) => transitions.push(available));
  });
  after(() => store.close());

  it('keeps working and available with one of three nodes killed', async () => {
    await nodes[0]!.kill();
    const generation = await store.nextGeneration(key);
    assert.equal(await store.putIfNewer(key, token(generation)), true);
    assert.equal((await store.get(key))?.generation, generation);
    assert.equal(await store.invalidate(key, generation), true);
    assert.equal(store.available, true);
    assert.deepEqual(transitions, []);
  });

  it('turns unavailable once and rejects every call when two of three nodes are down', async () => {
    await nodes[1]!.kill();
    await until(() => !store.available);
    const started = Date.now();
    await assert.rejects(store.get(key), /1 of 3 nodes answered, 2 needed/);
    await assert.rejects(store.nextGeneration(key));
    await assert.rejects(store.putIfNewer(key, token(1_000)));
    await assert.rejects(store.invalidate(key, 1));
    assert.ok(Date.now() - started < 1_500, 'calls reject without waiting');
    assert.deepEqual(transitions, [false]);
  });

  it('turns available once when the nodes return, and works again', async () => {
    await Promise.all([nodes[0]!.restart(), nodes[1]!.restart()]);
    await until(() => store.available);
    const generation = await store.nextGeneration(key);
    assert.equal(await store.putIfNewer(key, token(generation)), true);
    assert.deepEqual(transitions, [false, true]);
  });

  it('logged each transition once, and never a token', () => {
    assert.deepEqual(
      log.lines.map(({ level }) => level),
      ['info', 'warn', 'info'],
    );
    assert.ok(!log.text().includes('secret-access'), log.text());
  });

  it('closes without reporting Redis as unreachable', async () => {
    const linesBefore = log.lines.length;
    await store.close();
    assert.equal(log.lines.length, linesBefore);
    assert.deepEqual(transitions, [false, true]);
  });
});

describe('RedisTokenStore on three nodes with one stalled', () => {
  it('answers from the other two while one node is stopped with SIGSTOP', async () => {
    const nodes = await startRedisNodes(3);
    const store = new RedisTokenStore({ urls: nodes.map((node) => node.url) });
    try {
      await store.get(key); // the first call waits until every connection is open
      nodes[2]!.pause();
      const generation = await store.nextGeneration(key);
      assert.equal(await store.putIfNewer(key, token(generation)), true);
      assert.equal((await store.get(key))?.generation, generation);
    } finally {
      nodes[2]!.resume();
      await store.close();
    }
  });
});

describe('RedisTokenStore pool sizes on three nodes', () => {
  const pool = poolKey('sidecar-test', { tokenUrl: 'https://login.example/oauth/token', clientId, profile: 'default' });

  it('a node that missed sets (down, or its data lost) takes the next one and catches up', async () => {
    const nodes = await startRedisNodes(3);
    const store = new RedisTokenStore({ urls: nodes.map((node) => node.url) });
    const inspectors = nodes.map((node) => new Redis(node.url));
    try {
      assert.equal(await store.setPoolSize(pool, 0, 2, 1_000), true);
      await inspectors[0]!.del(pool); // lost everything
      await inspectors[1]!.set(pool, JSON.stringify({ size: 1, epoch: 0, updatedAt: 0 })); // an older record
      assert.deepEqual(await store.getPoolSize(pool), { size: 2, epoch: 1, updatedAt: 1_000 }, 'the newest answer wins');
      assert.equal(await store.setPoolSize(pool, 1, 5, 2_000), true);
      const records = await Promise.all(inspectors.map((inspector) => inspector.get(pool)));
      for (const record of records) assert.deepEqual(JSON.parse(record ?? 'null'), { size: 5, epoch: 2, updatedAt: 2_000 });
    } finally {
      await Promise.all(inspectors.map((inspector) => inspector.quit()));
      await store.close();
    }
  });

  it('of two records of one epoch left by a split, reads the larger size, and the next set heals the split', async () => {
    const nodes = await startRedisNodes(3);
    const store = new RedisTokenStore({ urls: nodes.map((node) => node.url) });
    const inspectors = nodes.map((node) => new Redis(node.url));
    try {
      const split = [{ size: 6, epoch: 4, updatedAt: 1 }, { size: 9, epoch: 4, updatedAt: 2 }, { size: 6, epoch: 4, updatedAt: 1 }];
      await Promise.all(inspectors.map((inspector, i) => inspector.set(pool, JSON.stringify(split[i]))));
      assert.equal((await store.getPoolSize(pool))?.size, 9);
      assert.equal(await store.setPoolSize(pool, 4, 9, 3_000), true);
      const records = await Promise.all(inspectors.map((inspector) => inspector.get(pool)));
      assert.deepEqual(new Set(records), new Set([JSON.stringify({ size: 9, epoch: 5, updatedAt: 3_000 })]));
    } finally {
      await Promise.all(inspectors.map((inspector) => inspector.quit()));
      await store.close();
    }
  });
});
