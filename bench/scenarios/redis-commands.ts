import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FLEET_COUNT_INTERVAL_MS } from '../../src/pool/fleet-counts.js';
import { defineRateCountScript } from '../../src/store/redis/rate-counts.js';
import { openLoop, type OpenLoopResult } from '../lib/open-loop.js';
import { BenchRedis } from '../lib/redis.js';
import { CommandWindows, scriptSha, type CommandWindow } from '../lib/redis-window.js';
import type { Scenario } from '../lib/scenario.js';
import { formatNumber, type Table } from '../lib/table.js';
import { LOAD_HEADERS, LOAD_PATH, startSidecar, type SidecarTarget } from '../lib/targets.js';

const INSTANCES = 2;
/** Request rates of the sweep, for the whole fleet (each instance gets an equal share). */
const TARGET_RATES = [100, 500, 1_000, 2_000, 5_000] as const;
const STEP_SECONDS = 10;
/** Before the sweep, so start-up traffic (first tokens, NOSCRIPT then EVAL of each script) is not counted. */
const WARMUP_RATE = 500;
const WARMUP_SECONDS = 3;
/** Upper bound of concurrent connections to each instance; beyond it the load generator queues. */
const CONNECTIONS = 64;
/** A step whose fleet rate is below this share of its target is marked "target not reached". */
const REACHED_SHARE = 0.95;
/**
 * A fixed pool of several tokens, so the one thing that changes from step to step is the request
 * rate: an auto pool grows with the rate, and its token reads and its counters per batch would grow
 * with it, mixing the pool's growth into the sweep. Several tokens, so each batch carries a counter
 * per token as a real pool's does.
 */
const POOL_SIZE = 4;
/**
 * A known per-token limit, so the budgets are counted by the sidecars and shared across the fleet
 * (RATE_LIMIT_PER_TOKEN; the fast upstream sends no budget headers and is no Genesys host, so no
 * limit would be known otherwise). Far above what the top step spends (5,000 req/s over 4 tokens is
 * 75,000 a minute per token), so no budget runs out: no request is held, passed over budget or
 * answered 429, and nothing but the rate differs between steps.
 */
const RATE_LIMIT_PER_TOKEN = 1_000_000;

export interface RedisCommandsStep {
  readonly targetRate: number;
  /** Answers per second completed, both instances together. */
  readonly achievedRate: number;
  /** achievedRate ≥ REACHED_SHARE × targetRate, without errors. */
  readonly reached: boolean;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Length of the counting window (Redis server clock), load and its drain included. */
  readonly seconds: number;
  /** Calls of the rate-count script (EVALSHA or EVAL) per instance per second. */
  readonly accountingPerInstancePerSecond: number;
  /** Every other command the instances sent, per instance per second. */
  readonly othersPerInstancePerSecond: number;
  /** Commands the scripts ran (counted by Redis too), per instance per second. */
  readonly insideScriptsPerInstancePerSecond: number;
  /** Every command INFO commandstats counted (inside scripts included), per proxied request. */
  readonly commandsPerRequest: number;
  /** INFO commandstats deltas over the window. */
  readonly calls: Record<string, number>;
  /** The instances' other commands, by name; other scripts' calls by name and the start of their SHA-1. */
  readonly othersByCommand: Record<string, number>;
  readonly insideScripts: Record<string, number>;
}

export interface RedisCommandsFigures {
  readonly instances: number;
  readonly poolSize: number;
  readonly rateLimitPerToken: number;
  /** SHA-1 of the rate-count script (src/store/redis/rate-counts.ts), as EVALSHA names it. */
  readonly rateCountScriptSha: string;
  readonly steps: readonly RedisCommandsStep[];
  /** Highest over lowest accounting rate across the steps (Infinity when a step saw none). */
  readonly accountingMaxOverMin: number;
  readonly accountingMax: number;
  readonly accountingMin: number;
}

/**
 * The Lua text the store registers for the rate-count script, read through the store's own
 * registration so the SHA-1 follows any change to it. Only defineCommand is called on the client.
 */
function rateCountScriptLua(): string {
  let lua: string | undefined;
  const recorder = { defineCommand: (_name: string, definition: { lua: string }) => (lua = definition.lua) };
  defineRateCountScript(recorder as unknown as Redis);
  if (lua === undefined) throw new Error('defineRateCountScript registered no script');
  return lua;
}

/** Both instances at half the fleet's rate each, at the same time. */
async function loadFleet(sidecars: readonly SidecarTarget[], rate: number, seconds: number): Promise<OpenLoopResult[]> {
  return Promise.all(
    sidecars.map((s) =>
      openLoop({ origin: s.url, path: LOAD_PATH, headers: LOAD_HEADERS, requestsPerSecond: rate / sidecars.length, durationSeconds: seconds, connections: CONNECTIONS }),
    ),
  );
}

function stepOf(targetRate: number, loads: readonly OpenLoopResult[], window: CommandWindow, rateCountSha: string): RedisCommandsStep {
  const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
  const perInstancePerSecond = (count: number) => count / INSTANCES / window.seconds;
  let accounting = 0;
  const othersByCommand: Record<string, number> = {};
  for (const [command, count] of Object.entries(window.sent)) {
    const [name, sha] = command.split(':');
    if (sha === rateCountSha) accounting += count;
    else othersByCommand[sha === undefined ? name! : `${name} (script ${sha.slice(0, 8)}…)`] = count;
  }
  const requests = loads.reduce((a, l) => a + l.sent - l.errors, 0);
  const achievedRate = loads.reduce((a, l) => a + l.achievedRate, 0);
  const non2xx = loads.reduce((a, l) => a + l.non2xx, 0);
  const errors = loads.reduce((a, l) => a + l.errors, 0);
  return {
    targetRate,
    achievedRate,
    reached: achievedRate >= REACHED_SHARE * targetRate && errors === 0 && non2xx === 0,
    requests,
    non2xx,
    errors,
    seconds: window.seconds,
    accountingPerInstancePerSecond: perInstancePerSecond(accounting),
    othersPerInstancePerSecond: perInstancePerSecond(sum(othersByCommand)),
    insideScriptsPerInstancePerSecond: perInstancePerSecond(sum(window.insideScripts)),
    commandsPerRequest: sum(window.calls) / Math.max(1, requests),
    calls: window.calls,
    othersByCommand,
    insideScripts: window.insideScripts,
  };
}

/**
 * Redis commands per instance per second for rate accounting across a sweep of request rates. Each
 * instance hands its sends to the store and reads the fleet's in one call of the rate-count script
 * per profile every FLEET_COUNT_INTERVAL_MS, whatever the rate; the token lifecycle reads each
 * token about once a second. The fast upstream issues 24 h tokens, so no refresh falls inside the run.
 */
export const redisCommandsScenario: Scenario<RedisCommandsFigures> = {
  id: 'redis-commands',
  async run(ctx) {
    const rateCountScriptSha = scriptSha(rateCountScriptLua());
    const redis = await BenchRedis.start();
    const sidecars: SidecarTarget[] = [];
    let windows: CommandWindows | undefined;
    const steps: RedisCommandsStep[] = [];
    try {
      const redisKeyPrefix = `bench-sweep-${randomBytes(4).toString('hex')}`;
      for (let i = 1; i <= INSTANCES; i++) {
        sidecars.push(
          await startSidecar({
            name: `sidecar ${i}`,
            upstreamUrl: ctx.upstream.url,
            redisUrl: redis.url,
            redisKeyPrefix,
            poolSize: String(POOL_SIZE),
            env: { RATE_LIMIT_PER_TOKEN: String(RATE_LIMIT_PER_TOKEN) },
          }),
        );
      }
      windows = await CommandWindows.open(redis.url);
      ctx.log(`redis commands: ${INSTANCES} instances, warm-up ${WARMUP_SECONDS} s at ${WARMUP_RATE} req/s`);
      await loadFleet(sidecars, WARMUP_RATE, WARMUP_SECONDS);
      for (const targetRate of TARGET_RATES) {
        ctx.log(`redis commands: ${formatNumber(targetRate)} req/s for ${STEP_SECONDS} s`);
        await windows.begin();
        const loads = await loadFleet(sidecars, targetRate, STEP_SECONDS);
        const window = await windows.end();
        for (const sidecar of sidecars) sidecar.assertAlive();
        steps.push(stepOf(targetRate, loads, window, rateCountScriptSha));
      }
    } finally {
      await windows?.close();
      await Promise.all(sidecars.map((s) => s.stop()));
      await redis.stop();
    }
    const accounting = steps.map((s) => s.accountingPerInstancePerSecond);
    const [accountingMax, accountingMin] = [Math.max(...accounting), Math.min(...accounting)];
    const figures: RedisCommandsFigures = {
      instances: INSTANCES,
      poolSize: POOL_SIZE,
      rateLimitPerToken: RATE_LIMIT_PER_TOKEN,
      rateCountScriptSha,
      steps,
      accountingMaxOverMin: accountingMin > 0 ? accountingMax / accountingMin : Infinity,
      accountingMax,
      accountingMin,
    };
    return {
      figures,
      section: {
        title: 'Redis commands per instance per second across request rates',
        method:
          `${INSTANCES} sidecar instances (WORKERS=1, a fixed pool of ${POOL_SIZE} tokens, RATE_LIMIT_PER_TOKEN=` +
          `${formatNumber(RATE_LIMIT_PER_TOKEN)} so the budgets are counted and shared, never spent) share one Redis and ` +
          `the fast upstream (24 h tokens, no rate limit). After a ${WARMUP_SECONDS} s warm-up at ${WARMUP_RATE} req/s, an ` +
          `open loop sends each target rate for ${STEP_SECONDS} s, half to each instance. Over each step, its drain ` +
          'included, INFO commandstats counts the commands and MONITOR attributes them: accounting is the calls of ' +
          `the rate-count script (EVALSHA ${rateCountScriptSha.slice(0, 12)}…, the SHA-1 of the script src/store/redis/` +
          `rate-counts.ts registers; by design one per profile every ${FLEET_COUNT_INTERVAL_MS} ms), others are every ` +
          'other command the instances sent, and the commands the script runs inside (per counter: HINCRBY, EXPIRE, ' +
          'HGETALL, HDEL) are shown apart. Commands per request count all of INFO commandstats, as before.',
        tables: [sweepTable(steps), byCommandTable(steps)],
        notes: notesOf(steps),
      },
    };
  },
};

const perSecond = (value: number) => formatNumber(value, 2);

function sweepTable(steps: readonly RedisCommandsStep[]): Table {
  return {
    columns: ['target req/s', 'achieved req/s', 'accounting /instance/s', 'others /instance/s', 'inside the script /instance/s', 'commands per request', ''],
    rows: steps.map((s) => [
      formatNumber(s.targetRate),
      formatNumber(s.achievedRate),
      perSecond(s.accountingPerInstancePerSecond),
      perSecond(s.othersPerInstancePerSecond),
      perSecond(s.insideScriptsPerInstancePerSecond),
      s.commandsPerRequest.toExponential(2),
      s.reached ? '' : 'target not reached',
    ]),
  };
}

/** Each command per instance per second, step by step: what "others" are made of. */
function byCommandTable(steps: readonly RedisCommandsStep[]): Table {
  const perInstance = (step: RedisCommandsStep, count: number | undefined) => perSecond((count ?? 0) / INSTANCES / step.seconds);
  const sent = [...new Set(steps.flatMap((s) => Object.keys(s.othersByCommand)))].sort();
  const inside = [...new Set(steps.flatMap((s) => Object.keys(s.insideScripts)))].sort();
  return {
    columns: ['command /instance/s', ...steps.map((s) => `${formatNumber(s.targetRate)} req/s`)],
    rows: [
      ['rate-count script (accounting)', ...steps.map((s) => perSecond(s.accountingPerInstancePerSecond))],
      ...sent.map((command) => [command, ...steps.map((s) => perInstance(s, s.othersByCommand[command]))]),
      ...inside.map((command) => [`  inside the script: ${command}`, ...steps.map((s) => perInstance(s, s.insideScripts[command]))]),
    ],
  };
}

function notesOf(steps: readonly RedisCommandsStep[]): string[] {
  const notes: string[] = [];
  for (const s of steps.filter((step) => !step.reached)) {
    notes.push(
      `${formatNumber(s.targetRate)} req/s: target not reached, ${formatNumber(s.achievedRate)} req/s achieved` +
        `${s.errors || s.non2xx ? ` (${formatNumber(s.errors)} errors, ${formatNumber(s.non2xx)} non-2xx)` : ''}: the two ` +
        'instances, the upstream, Redis and the load generator share the machine\'s CPUs.',
    );
  }
  return notes;
}
