/**
 * The store and lock contracts under a Redis ACL user limited to exactly the rule the README gives
 * (read from the README, so the two cannot drift): its key pattern, its channel pattern and its
 * commands, and nothing else. Redis's ACL LOG must stay empty: no command was refused on the way.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { RedlockRefreshLock } from '../../src/lock/redlock.js';
import { SinglePrimaryRefreshLock } from '../../src/lock/single-primary.js';
import { RedisTokenStore } from '../../src/store/redis.js';
import { lockContract, type MakeLockFixture } from '../lock/contract.js';
import { RedisNode, startRedisNodes, stopAllRedisNodes } from '../helpers/redis-server.js';
import { storeContract, until, type MakeFixture } from './contract.js';

const PASSWORD = 'acl-test-password';
/** The README's rule, for the default key prefix (token-sidecar). */
const RULE_LINE = /^ACL SETUSER token-sidecar .+$/m;

function readmeRule(): string[] {
  const line = RULE_LINE.exec(readFileSync('README.md', 'utf8'))?.[0];
  assert.ok(line, 'the README gives the ACL rule as one "ACL SETUSER token-sidecar …" line');
  return line.split(/\s+/).slice(1).map((word) => word.replace(/^>.*$/, `>${PASSWORD}`));
}

let nodes: RedisNode[];
let admins: Redis[];
const url = (node: RedisNode) => `redis://token-sidecar:${PASSWORD}@127.0.0.1:${node.port}`;

before(async () => {
  // One node for the single-node suites, three more for the quorum ones: suites reuse key names.
  nodes = await startRedisNodes(4);
  admins = nodes.map((node) => new Redis(node.url));
  const rule = readmeRule();
  await Promise.all(admins.map((admin) => admin.call('ACL', ...rule)));
});
after(async () => {
  await Promise.all(admins.map((admin) => admin.quit()));
  await stopAllRedisNodes();
});

function stores(nodeCount: number): MakeFixture {
  return async (clock) => {
    const opened: RedisTokenStore[] = [];
    return {
      open: async () => {
        const store = new RedisTokenStore({ urls: (nodeCount === 1 ? nodes.slice(0, 1) : nodes.slice(1)).map(url), channel: 'token-sidecar:events', now: () => clock.now() });
        opened.push(store);
        return store;
      },
      close: async () => void (await Promise.all(opened.map((store) => store.close()))),
    };
  };
}

function locks(kind: 'single' | 'redlock'): MakeLockFixture {
  return async () => {
    const opened: (SinglePrimaryRefreshLock | RedlockRefreshLock)[] = [];
    const used = kind === 'single' ? nodes.slice(0, 1) : nodes.slice(1);
    return {
      open: async () => {
        const urls = used.map(url);
        const lock = kind === 'single' ? new SinglePrimaryRefreshLock({ target: { mode: 'nodes', urls } }) : new RedlockRefreshLock({ urls });
        opened.push(lock);
        return lock;
      },
      lapse: async (key, ttlMs) => {
        const inspectors = kind === 'single' ? admins.slice(0, 1) : admins.slice(1);
        const held = async () => (await Promise.all(inspectors.map((admin) => admin.exists(`${key}:lock`)))).some((n) => n > 0);
        await until(async () => !(await held()), ttlMs + 2_000);
      },
      close: async () => void (await Promise.all(opened.map((lock) => lock.close()))),
    };
  };
}

storeContract('RedisTokenStore under the README\'s ACL rule, one node', stores(1), 'token-sidecar');
storeContract('RedisTokenStore under the README\'s ACL rule, three nodes', stores(3), 'token-sidecar');
lockContract('SinglePrimaryRefreshLock under the README\'s ACL rule', locks('single'), 'token-sidecar');
lockContract('RedlockRefreshLock under the README\'s ACL rule, three nodes', locks('redlock'), 'token-sidecar');

describe('the README\'s ACL rule', () => {
  it('refused nothing the store and the lock sent (ACL LOG is empty)', async () => {
    const logs = await Promise.all(admins.map((admin) => admin.call('ACL', 'LOG') as Promise<unknown[]>));
    assert.deepEqual(logs.map((log) => log.length), [0, 0, 0, 0], JSON.stringify(logs));
  });

  it('limits the user to the sidecar\'s keys and commands', async () => {
    const limited = new Redis(url(nodes[0]!), { lazyConnect: true });
    try {
      await limited.connect();
      await assert.rejects(limited.get('someone-else:key'), /NOPERM/);
      await assert.rejects(limited.call('KEYS', '*'), /NOPERM/);
      await assert.rejects(limited.call('FLUSHALL'), /NOPERM/);
      await admins[0]!.call('ACL', 'LOG', 'RESET');
    } finally {
      limited.disconnect();
    }
  });
});
