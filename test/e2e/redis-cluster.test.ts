import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { waitFor } from '../../src/harness/wait-for.js';
import { profileEventsChannel, profileTag } from '../../src/store/key.js';
import { loadDuring } from '../helpers/load-during.js';
import { RedisNode, stopAllRedisNodes } from '../helpers/redis-server.js';
import { FAILOVER_TOKENS, REFRESH_WAIT, startTokenFleet, type TokenFleet } from '../helpers/token-fleet.js';

// A Redis Cluster of three primaries, each with a replica (cluster-node-timeout 1 s, so a failover
// takes seconds). Two sidecars share one token through it: every key of the profile carries one hash
// tag, so each script runs on one slot, and the events go over sharded pub/sub on that slot's shard.
const CLIENTS = 50;

let primaries: RedisNode[];
let replicas: RedisNode[];
let admins: Redis[];

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-cluster-'));
  const nodes = await Promise.all(
    Array.from({ length: 6 }, () =>
      RedisNode.start({
        dir,
        // One cluster state file per node in the shared dir.
        args: (port) => ['--cluster-enabled', 'yes', '--cluster-node-timeout', '1000', '--cluster-config-file', `nodes-${port}.conf`],
      }),
    ),
  );
  primaries = nodes.slice(0, 3);
  replicas = nodes.slice(3);
  await promisify(execFile)('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes']);
  admins = nodes.map((node) => new Redis(node.url).on('error', () => {}));
  await waitFor(
    async () => (await Promise.all(admins.map((admin) => admin.call('CLUSTER', 'INFO') as Promise<string>))).every((info) => /cluster_state:ok/.test(info)),
    { timeoutMs: 20_000, intervalMs: 200, what: 'every node seeing cluster_state:ok' },
  );
});
after(async () => {
  admins?.forEach((admin) => admin.disconnect());
  await stopAllRedisNodes();
});

const clusterEnv = () => ({ REDIS_CLUSTER: primaries.map((node) => `127.0.0.1:${node.port}`).join(',') });

/** The port of the primary serving the fleet's profile (its hash tag's slot). */
async function profilePrimary(fleet: TokenFleet): Promise<number> {
  const tag = profileTag({ tokenUrl: `${fleet.mockUrl}/oauth/token`, clientId: 'demo-client', profile: 'default' });
  const slot = Number(await admins[0]!.call('CLUSTER', 'KEYSLOT', tag));
  const ranges = (await admins[0]!.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
  return owner![2][1];
}

/** CROSSSLOT errors any node has answered since it started (INFO errorstats). */
async function crossSlotErrors(): Promise<number> {
  const stats = await Promise.all(admins.map((admin) => admin.info('errorstats').catch(() => '')));
  return stats.reduce((sum, text) => sum + Number(/errorstat_CROSSSLOT:count=(\d+)/.exec(text)?.[1] ?? 0), 0);
}

test('two sidecars on a three-primary cluster serve a load across two refreshes: no error, one token request per refresh, no CROSSSLOT', async (t) => {
  const fleet = await startTokenFleet(clusterEnv());
  const { result } = await loadDuring({ clients: CLIENTS, step: fleet.step }, () => fleet.refreshes(2, 'two refreshes under load'));
  const figures = fleet.figures();
  const redisUp = await fleet.redisUp();
  const crossSlot = await crossSlotErrors();
  const logged = fleet.sidecars.map((s) => s.proc.output()).join('\n');
  // Both sidecars listen on the profile's shard channel, on the shard that holds its keys.
  const channel = profileEventsChannel('token-sidecar', { tokenUrl: `${fleet.mockUrl}/oauth/token`, clientId: 'demo-client', profile: 'default' });
  const ownerAdmin = admins[primaries.map((node) => node.port).indexOf(await profilePrimary(fleet))]!;
  const [, subscribers] = (await ownerAdmin.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
  t.diagnostic(JSON.stringify({ mode: 'Cluster', ...result, ...figures, redisUp, crossSlot, shardSubscribers: subscribers }));
  assert.equal(subscribers, 2, 'both sidecars subscribed to the profile\'s shard channel');
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.equal(figures.non200, 0);
  assert.deepEqual(redisUp, [1, 1]);
  assert.ok(figures.tokenRequests <= figures.ideal, `${figures.tokenRequests} token requests, ideal ${figures.ideal}`);
  assert.ok(figures.closestMs! > 1200, `two token requests ${figures.closestMs} ms apart: one refresh fetched twice`);
  assert.equal(crossSlot, 0, 'no node ever answered CROSSSLOT');
  assert.doesNotMatch(logged, /CROSSSLOT/);
});

test('the primary serving the profile killed under load: its replica is promoted, no client error, at most one extra token request', async (t) => {
  // As in the Sentinel test: a kill right after a fetch, before its store write, would let a
  // revoke-on-issue IdP cut off the other instance's token until the store is back (README, Limits).
  const fleet = await startTokenFleet(clusterEnv(), { ...FAILOVER_TOKENS, mock: { revokeOnIssue: false } });
  const port = await profilePrimary(fleet);
  const victim = primaries.find((node) => node.port === port)!;
  const survivor = admins[primaries.indexOf(primaries.find((node) => node !== victim)!)]!;
  const { result, outcome } = await loadDuring({ clients: CLIENTS, step: fleet.step }, async () => {
    await fleet.refreshes(1, 'a refresh through the cluster under load');
    await victim.kill();
    const killedAt = performance.now();
    await waitFor(async () => (await profilePrimaryFrom(survivor, fleet)) !== port, { ...REFRESH_WAIT, what: 'the cluster promoting the replica' });
    const failoverMs = Math.round(performance.now() - killedAt);
    await fleet.refreshes(2, 'two refreshes after the failover under load');
    return { failoverMs };
  });
  const figures = fleet.figures();
  const crossSlot = await crossSlotErrors();
  t.diagnostic(JSON.stringify({ mode: 'Cluster, primary killed', ...result, ...figures, ...outcome, crossSlot, replicas: replicas.length }));
  assert.equal(result.non2xx, 0, JSON.stringify(result.byStatus));
  assert.equal(figures.non200, 0);
  assert.ok(figures.tokenRequests <= figures.ideal + 1, `${figures.tokenRequests} token requests, ideal ${figures.ideal} (+1 for the failover)`);
  assert.equal(crossSlot, 0);
});

async function profilePrimaryFrom(admin: Redis, fleet: TokenFleet): Promise<number> {
  const tag = profileTag({ tokenUrl: `${fleet.mockUrl}/oauth/token`, clientId: 'demo-client', profile: 'default' });
  const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', tag));
  const ranges = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
}
