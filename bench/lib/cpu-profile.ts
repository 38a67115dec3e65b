import { readFileSync } from 'node:fs';

/**
 * Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and says where the time went: self time per
 * function, self time per package (node_modules/<package>, Node's own internals, this project's
 * dist/), and total (inclusive) time of this project's functions.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface TimeShare {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Excluding (idle): the time the process was busy. */
  readonly busyMs: number;
  readonly selfByFunction: readonly TimeShare[];
  readonly selfByPackage: readonly TimeShare[];
  /** This project's functions (dist/), by time spent in them and everything they called. */
  readonly inclusiveOwnCode: readonly TimeShare[];
}

/** `node_modules/@fastify/reply-from`, `node:internal`, `token-sidecar`, or a V8 pseudo-frame like `(garbage collector)`. */
function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (module) return module;
  if (url.startsWith('node:')) return 'node: (Node.js internals)';
  if (isOwnCode(url)) return 'token-sidecar (dist/)';
  return url;
}

/** This project's compiled code: dist/ outside node_modules (packages have dist/ folders too). */
function isOwnCode(url: string): boolean {
  return url.includes('/dist/') && !url.includes('/node_modules/');
}

function functionKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^node:/, 'node:');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

function top(map: Map<string, number>, busyMs: number, count: number): TimeShare[] {
  return [...map.entries()]
    .sort(([, a], [, b]) => b - a)
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Math.round((us / 1000 / busyMs) * 1000) / 10 }));
}

export function summarizeCpuProfile(path: string, count = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const selfByNode = new Map<number, number>();
  profile.samples.forEach((id, i) => selfByNode.set(id, (selfByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const selfByFunction = new Map<string, number>();
  const selfByPackage = new Map<string, number>();
  const inclusiveOwn = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfByNode) {
    const node = byId.get(id)!;
    totalUs += us;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = functionKey(node);
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us);
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us);
    // Each own-code function on this stack gets the time once, however often it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)!;
      if (!isOwnCode(frame.callFrame.url)) continue;
      const ownKey = functionKey(frame);
      if (seen.has(ownKey)) continue;
      seen.add(ownKey);
      inclusiveOwn.set(ownKey, (inclusiveOwn.get(ownKey) ?? 0) + us);
    }
  }
  const busyMs = (totalUs - idleUs) / 1000;
  return {
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyMs),
    selfByFunction: top(selfByFunction, busyMs, count),
    selfByPackage: top(selfByPackage, busyMs, count),
    inclusiveOwnCode: top(inclusiveOwn, busyMs, count),
  };
}
