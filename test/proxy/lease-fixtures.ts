import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { Agent } from 'undici';
import type { NamedLimit } from '../../src/pool/budget-429.js';
import type { Lease, LeasePool, LeaseSlot } from '../../src/pool/lease.js';
import type { ReplayResult, ResponseMeter } from '../../src/proxy/replay-handler.js';
import { Intercepted } from '../../src/proxy/intercepted.js';
import { tokenInterceptor } from '../../src/proxy/token-interceptor.js';
import type { Token } from '../../src/token/token.js';

/**
 * The proxy's side of the lease seam, driven by hand: a pool of one slot whose leases, 401 answers
 * and rate-limit reports the test sets and reads. Not a lifecycle: nothing refreshes by itself.
 */
export class HandSlot implements LeaseSlot {
  readonly profile = 'test';
  readonly index = 0;
  /** Tokens reported rejected, in order. */
  readonly unauthorized: Token[] = [];
  readonly rateLimits: Array<[number, number, number | undefined]> = [];
  /** What onUnauthorized answers. */
  next: () => Promise<Lease> = () => Promise.reject(new Error('no newer token in this test'));

  onUnauthorized(sent: Token): Promise<Lease> {
    this.unauthorized.push(sent);
    return this.next();
  }

  observeRateLimit(allowed: number, count: number, resetSeconds: number | undefined): void {
    this.rateLimits.push([allowed, count, resetSeconds]);
  }

  sent = 0;
  noteSent(): number {
    return ++this.sent;
  }

  /** Status codes reported with noteAnswer, in order. */
  readonly answers: number[] = [];
  noteAnswer(statusCode: number): void {
    this.answers.push(statusCode);
  }

  /** 429s reported with rateLimited: counters, Retry-After, and the limit the body named. */
  readonly limited: Array<{ allowed: number; count: number; retryAfterSeconds: number | undefined; named: NamedLimit | undefined }> = [];
  /** What rateLimited answers: whether the 429 was the token's own budget. */
  ownBudget: (named: NamedLimit | undefined) => boolean = () => false;

  rateLimited(allowed: number, count: number, retryAfterSeconds: number | undefined, named?: NamedLimit): boolean {
    this.limited.push({ allowed, count, retryAfterSeconds, named });
    return this.ownBudget(named);
  }

  lease(accessToken: string, generation: number, header = 'authorization'): Lease {
    const token: Token = { accessToken, generation, expiresAt: Date.now() + 3_600_000, issuedAt: Date.now(), fetchedBy: 'test' };
    return { token, header, value: header === 'authorization' ? `Bearer ${accessToken}` : accessToken, slot: this };
  }
}

export class HandPool implements LeasePool {
  readonly profile = 'test';
  readonly slot = new HandSlot();
  current: Lease | undefined;
  /** What leaseWaiting answers when no lease is current. */
  waiting: () => Promise<Lease> = () => Promise.reject(new Error('no token in this test'));

  readonly outOfBudget = false;

  /** How often lease() was asked: once per request. */
  leases = 0;

  lease(): Lease | undefined {
    this.leases++;
    return this.current;
  }

  leaseAgain(): Lease | undefined {
    return this.current;
  }

  leaseWaiting(): Promise<Lease> {
    return this.current ? Promise.resolve(this.current) : this.waiting();
  }

  async leaseOverBudget() {
    const lease = await this.leaseWaiting();
    return { lease, ticket: lease.slot.noteSent() };
  }

  /** What leaseForReplay answers: the lease a 429 of the token's own budget is replayed with. */
  replayLease: Lease | undefined;

  leaseForReplay(): Lease | undefined {
    return this.replayLease;
  }

  readonly canWaitForBudget = false;

  get ready(): boolean {
    return this.current !== undefined;
  }
}

export class ListMeter implements ResponseMeter {
  readonly responses: number[] = [];
  readonly replays: ReplayResult[] = [];
  errors = 0;
  response(statusCode: number): void {
    this.responses.push(statusCode);
  }
  error(): void {
    this.errors++;
  }
  replay(result: ReplayResult): void {
    this.replays.push(result);
  }
  readonly addedSeconds: number[] = [];
  readonly serverTiming = true;
  added(seconds: number): void {
    this.addedSeconds.push(seconds);
  }
}

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server on port 0 that records each request and answers with `respond`. */
export async function startUpstream(respond: (seen: Seen, response: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const entry = { method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString() };
    seen.push(entry);
    respond(entry, response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** An undici Agent (one connection, so requests reach the upstream in order) with the token interceptor in front, as the server builds it. */
export function tokenAgent(meter: ResponseMeter, replayBodyLimitBytes = 1024) {
  const agent = new Agent({ connections: 1 });
  after(() => agent.close());
  return new Intercepted(agent, tokenInterceptor({ meter, replayBodyLimitBytes }));
}
