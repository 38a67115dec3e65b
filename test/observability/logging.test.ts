import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { createLogger } from '../../src/logging.js';
import { MAX_DEPTH, REDACT_CENSOR, redactLogObject, SECRET_KEYS } from '../../src/logging/redact.js';
import { waitFor } from '../../src/harness/wait-for.js';
import { startMock, startSidecar } from '../helpers/processes.js';

// Logging: pino JSON one line per event, LOG_FORMAT=pretty for humans, and redaction of
// authorization, x-sidecar-key, secrets, access_token and refresh_token everywhere, error objects
// included (README "What it guarantees" 7). Each test logs through the sidecar's own logger factory.

const SECRET = 'S3CR3T-value-that-must-not-appear';

function capturingLogger(level = 'trace') {
  const lines: string[] = [];
  const log = createLogger({ level, format: 'json', destination: { write: (line: string) => void lines.push(line) } });
  return { log, lines, text: () => lines.join(''), records: () => lines.map((line) => JSON.parse(line) as Record<string, any>) };
}

/** `{ a: { a: … { [key]: value } } }` with the key `depth` objects below the top. */
function nested(depth: number, key: string, value: unknown): Record<string, unknown> {
  let object: Record<string, unknown> = { [key]: value };
  for (let i = 0; i < depth; i++) object = { a: object };
  return object;
}

test('every secret field name is censored at the top level and at every depth below it, up to MAX_DEPTH', () => {
  const { log, text, records } = capturingLogger();
  for (const key of SECRET_KEYS) {
    for (let depth = 0; depth < MAX_DEPTH; depth++) log.info(nested(depth, key, `${SECRET}-${key}-${depth}`), 'nested');
  }
  assert.ok(!text().includes(SECRET), `a secret field survived:\n${text().split('\n').find((l) => l.includes(SECRET))}`);
  assert.equal(records().length, SECRET_KEYS.length * MAX_DEPTH);
  assert.equal(records()[0]![SECRET_KEYS[0]!], REDACT_CENSOR);
});

test('secret fields inside arrays and null-prototype header objects are censored', () => {
  const { log, text, records } = capturingLogger();
  const headers = Object.assign(Object.create(null) as Record<string, string>, { authorization: `Bearer ${SECRET}`, 'x-sidecar-key': SECRET, cookie: SECRET, accept: 'application/json' });
  log.info({ headers, tokens: [{ accessToken: SECRET }, { refresh_token: SECRET }], profiles: [{ name: 'p', clientSecret: SECRET }] }, 'arrays');
  assert.ok(!text().includes(SECRET));
  const [record] = records();
  assert.equal(record!.headers.accept, 'application/json');
  assert.equal(record!.headers.authorization, REDACT_CENSOR);
  assert.equal(record!.profiles[0].name, 'p');
});

test('an error object is logged as name, message, code and stack only: its config, headers and request are dropped', () => {
  const { log, text, records } = capturingLogger();
  const make = () =>
    Object.assign(new Error('token endpoint unreachable'), {
      code: 'ECONNREFUSED',
      config: { clientSecret: SECRET, url: 'https://login.example.com/oauth/token' },
      request: { headers: { 'x-custom': SECRET } },
      response: { body: `{"access_token":"${SECRET}"}` },
      options: { body: `grant_type=refresh_token&refresh_token=${SECRET}` },
    });
  log.error({ err: make() }, 'as err');
  log.error(make());
  log.warn({ error: make() }, 'as error');
  log.warn({ context: { failure: make(), list: [make()] } }, 'nested');
  log.warn({ err: { message: 'plain object error', config: { secretValue: SECRET } } }, 'plain');
  assert.ok(!text().includes(SECRET), `an error leaked:\n${text()}`);
  const [asErr, firstArg] = records();
  assert.deepEqual(Object.keys(asErr!.err).sort(), ['code', 'message', 'name', 'stack']);
  assert.equal(asErr!.err.code, 'ECONNREFUSED');
  assert.equal(firstArg!.msg, 'token endpoint unreachable');
  assert.equal(firstArg!.err.name, 'Error');
});

test("an error's cause chain gets the same treatment", () => {
  const { log, text, records } = capturingLogger();
  const root = Object.assign(new Error(`connect to redis://:${SECRET}@cache:6379 failed`), { config: { password: SECRET } });
  log.error({ err: new Error('refresh failed', { cause: root }) }, 'with cause');
  assert.ok(!text().includes(SECRET));
  assert.equal(records()[0]!.err.cause.message, `connect to redis://${REDACT_CENSOR}@cache:6379 failed`);
});

test('credential-looking text is scrubbed from messages, format arguments, string fields and error stacks', () => {
  const { log, text } = capturingLogger();
  log.info(`upstream said: Authorization: Bearer ${SECRET}`);
  log.info('sent %s', `Basic ${Buffer.from(`client:${SECRET}`).toString('base64')}`);
  log.warn({ body: `grant_type=refresh_token&refresh_token=${SECRET}&client_secret=${SECRET}` }, 'form');
  log.warn({ body: `{"access_token":"${SECRET}","expires_in":86400}` }, 'json');
  log.warn({ url: `rediss://user:${SECRET}@redis.example.com:6380/0` }, 'url');
  log.warn({ url: new URL(`https://u:${SECRET}@api.example.com/x`) }, 'URL object');
  log.error(new Error(`failed with bearer ${SECRET}`));
  assert.ok(!text().includes(SECRET), `scrubbing missed:\n${text().split('\n').find((l) => l.includes(SECRET))}`);
  assert.match(text(), /Bearer <redacted>/);
});

test('a logged request shows method and path only, never its query string or headers', () => {
  const { log, records } = capturingLogger();
  log.info({ req: { method: 'GET', url: `/api/v2/users/me?access_token=${SECRET}`, headers: { authorization: SECRET }, ip: '127.0.0.1' } }, 'request');
  assert.deepEqual(records()[0]!.req, { method: 'GET', url: '/api/v2/users/me', remoteAddress: '127.0.0.1' });
});

test("fastify's own error lines, logged through the sidecar's logger, carry no secret", async () => {
  const { log, text, records } = capturingLogger('info');
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  app.get('/fail', async () => {
    throw Object.assign(new Error(`upstream refused Bearer ${SECRET}`), { config: { clientSecret: SECRET }, statusCode: 500 });
  });
  try {
    const response = await app.inject({ url: `/fail?refresh_token=${SECRET}`, headers: { authorization: `Bearer ${SECRET}`, 'x-sidecar-key': SECRET } });
    assert.equal(response.statusCode, 500);
  } finally {
    await app.close();
  }
  const errorLine = records().find((r) => r.level === 50);
  assert.ok(errorLine, `fastify logged no error line:\n${text()}`);
  assert.ok(!text().includes(SECRET), `fastify's line leaked:\n${text()}`);
});

test('a child logger, as fastify and the token lifecycle create them, redacts the same way', () => {
  const { log, text } = capturingLogger();
  const child = log.child({ instance: 'i-1' }).child({ component: 'redis' }, { serializers: {} });
  child.info({ token: { accessToken: SECRET, generation: 3 }, err: Object.assign(new Error('x'), { config: SECRET }) }, `Bearer ${SECRET}`);
  assert.ok(!text().includes(SECRET));
  assert.match(text(), /"generation":3/);
});

test('an object with nothing to censor is logged as it is, without a copy', () => {
  const object = { profile: 'default', slot: 0, generation: 4, durationMs: 12, nested: { reason: 'manual', list: [1, 2] } };
  assert.equal(redactLogObject(object), object);
});

test('LOG_FORMAT=pretty writes human-readable lines through pino-pretty, redacted the same way', async () => {
  let out = '';
  const destination = new Writable({
    write(chunk, _encoding, done) {
      out += chunk.toString();
      done();
    },
  });
  const log = createLogger({ level: 'info', format: 'pretty', destination: destination as never });
  log.info({ generation: 7, headers: { authorization: `Bearer ${SECRET}` } }, 'token refresh succeeded');
  await waitFor(() => out.includes('token refresh succeeded'), { timeoutMs: 5_000, intervalMs: 1 });
  assert.match(out, /INFO .*token refresh succeeded/);
  assert.match(out, /generation: 7/);
  assert.ok(!out.trimStart().startsWith('{'), 'pretty output is JSON');
  assert.ok(!out.includes(SECRET));
});

test('the CLI with LOG_FORMAT=pretty prints pretty lines, not JSON', async () => {
  const mock = await startMock();
  const sidecar = await startSidecar(mock.url, { LOG_FORMAT: 'pretty', LOG_LEVEL: 'info' });
  try {
    await waitFor(() => sidecar.proc.output().includes('token-sidecar listening'), { timeoutMs: 15_000, what: 'the listening line', process: sidecar.proc });
  } finally {
    await sidecar.proc.stop();
    await mock.proc.stop();
  }
  const output = sidecar.proc.output();
  assert.match(output, /INFO .*token-sidecar listening/);
  assert.match(output, /token refresh succeeded/);
  for (const line of output.split('\n')) assert.ok(!line.startsWith('{'), `a JSON line in pretty output: ${line}`);
  assert.ok(!output.includes('demo-secret'));
});
