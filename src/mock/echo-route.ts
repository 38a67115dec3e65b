/**
 * `ALL /api/v2/echo/*`: reports exactly what arrived, so proxy fidelity tests can compare it with what
 * they sent. Not a Genesys resource; it sits behind the same gate, so 401/429 behave as on real routes.
 *
 * Query parameters (all optional):
 * - `status=<200-599>`: answer with this status (default 200);
 * - `bytes=<N>`: answer with N deterministic bytes (byte i = i mod 256), streamed, instead of JSON;
 * - `delayMs=<ms>`: wait this long after reading the body, to keep a request in flight;
 * - `setHeader=<name>:<value>`, repeatable: add response headers (repeating a name sends it repeatedly,
 *   e.g. several Set-Cookie).
 *
 * The request body is hashed as it streams and never buffered, so multi-megabyte bodies cost no memory.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { validateHeaderName, validateHeaderValue, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { badRequest } from './genesys-errors.js';
import { correlationIdOf } from './api-gate.js';

/** The JSON answer of the echo route. */
export interface EchoReport {
  method: string;
  path: string;
  /** The raw query string, without `?`; empty when there is none. */
  query: string;
  /** Every request header as received, names lower-case. */
  headers: Record<string, string | string[] | undefined>;
  bodyLength: number;
  /** Hex SHA-256 of the request body (of the empty string when there is none). */
  bodySha256: string;
}

interface EchoInstructions {
  status: number;
  bytes: number | undefined;
  delayMs: number;
  headers: Map<string, string[]>;
}

const PATTERN = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => i % 256));

/** N bytes where byte i is i mod 256, streamed in 64 KiB chunks (the pattern repeats every 256 bytes). */
function deterministicBytes(length: number): Readable {
  return Readable.from(
    (function* chunks() {
      for (let sent = 0; sent < length; sent += PATTERN.length) yield PATTERN.subarray(0, Math.min(PATTERN.length, length - sent));
    })(),
    { objectMode: false },
  );
}

async function hashBody(body: IncomingMessage): Promise<{ length: number; sha256: string }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    length += chunk.length;
  }
  return { length, sha256: hash.digest('hex') };
}

function asList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function wholeNumber(raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

/** Reads the query's instructions; returns a problem description when one is malformed. */
function readInstructions(query: Record<string, unknown>): EchoInstructions | string {
  const [rawStatus = '200'] = asList(query.status);
  const status = wholeNumber(rawStatus, 200, 599);
  if (status === undefined) return `status must be a whole number from 200 to 599, got "${rawStatus}"`;

  const [rawBytes] = asList(query.bytes);
  const bytes = rawBytes === undefined ? undefined : wholeNumber(rawBytes, 0, Number.MAX_SAFE_INTEGER);
  if (rawBytes !== undefined && bytes === undefined) return `bytes must be a whole number, got "${rawBytes}"`;

  const [rawDelay = '0'] = asList(query.delayMs);
  const delayMs = wholeNumber(rawDelay, 0, 600_000);
  if (delayMs === undefined) return `delayMs must be a whole number of ms up to 600000, got "${rawDelay}"`;

  const headers = new Map<string, string[]>();
  for (const entry of asList(query.setHeader)) {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon).trim().toLowerCase();
    const value = entry.slice(colon + 1).trim();
    try {
      if (colon < 0) throw new Error('no colon');
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      return `setHeader must be "name:value" with a valid header name and value, got "${entry}"`;
    }
    headers.set(name, [...(headers.get(name) ?? []), value]);
  }
  return { status, bytes, delayMs, headers };
}

function applyHeaders(reply: FastifyReply, headers: Map<string, string[]>): void {
  for (const [name, values] of headers) reply.header(name, values.length === 1 ? values[0] : values);
}

export function registerEchoRoute(scope: FastifyInstance): void {
  scope.all('/api/v2/echo/*', async (request, reply) => {
    const instructions = readInstructions(request.query as Record<string, unknown>);
    if (typeof instructions === 'string') return reply.code(400).send(badRequest(instructions, correlationIdOf(reply)));

    // The scope's pass-through content-type parser leaves the body unread in request.raw, whatever
    // its type (and Fastify never parses GET/HEAD bodies), so it is read here exactly once.
    const body = await hashBody(request.raw);
    if (instructions.delayMs > 0) await sleep(instructions.delayMs);

    applyHeaders(reply, instructions.headers);
    reply.code(instructions.status);
    if (instructions.bytes !== undefined) {
      return reply
        .type('application/octet-stream')
        .header('content-length', instructions.bytes)
        .send(deterministicBytes(instructions.bytes));
    }
    const queryStart = request.url.indexOf('?');
    const report: EchoReport = {
      method: request.method,
      path: queryStart < 0 ? request.url : request.url.slice(0, queryStart),
      query: queryStart < 0 ? '' : request.url.slice(queryStart + 1),
      headers: request.headers,
      bodyLength: body.length,
      bodySha256: body.sha256,
    };
    return reply.type('application/json; charset=utf-8').send(report);
  });
}
