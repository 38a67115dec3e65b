// The benchmark's upstream: as fast as node:http gets, so what is measured is the proxy in front of
// it. Runs in its own process (bench/lib/targets.ts starts it) so it never shares an event loop with
// the proxy or the load generator. Plain JavaScript so no TypeScript loader (and its helper process)
// runs beside it.
//
//   POST /oauth/token   a client-credentials token living 24 h (no refresh inside a benchmark)
//   GET  /health        200, no credentials needed (readiness)
//   anything else       200 with a small JSON body when a bearer token is sent, 401 otherwise, so a
//                       proxy that forgets to inject the header shows up as non-2xx
//
// With `rate-limit-headers`, every authorized answer also carries Genesys's inin-ratelimit-allowed,
// -count and -reset (docs/genesys.md §5), counted per token over a 60 s window as Genesys does, with
// an allowance no benchmark reaches: the proxy reads the counters on every response and routes by
// them, but never meets a 429.
//
// Usage: node bench/servers/fast-upstream.mjs <port> [rate-limit-headers]
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const RATE_LIMIT_HEADERS = process.argv[3] === 'rate-limit-headers';
const RATE_LIMIT_ALLOWED = 1_000_000_000;
const RATE_LIMIT_WINDOW_MS = 60_000;
/** Per bearer header: the start of its current window and the requests counted in it. */
const windows = new Map();

/** The three headers for one more request of `authorization`. */
function rateLimitHeaders(authorization) {
  const now = Date.now();
  let window = windows.get(authorization);
  if (window === undefined || now >= window.start + RATE_LIMIT_WINDOW_MS) {
    window = { start: now, count: 0 };
    windows.set(authorization, window);
  }
  window.count++;
  return {
    'inin-ratelimit-allowed': RATE_LIMIT_ALLOWED,
    'inin-ratelimit-count': window.count,
    'inin-ratelimit-reset': Math.max(1, Math.ceil((window.start + RATE_LIMIT_WINDOW_MS - now) / 1000)),
  };
}
const TOKEN_LIFETIME_SECONDS = 86_400;
const BODY = JSON.stringify({ organization: { id: 'bench-org', name: 'bench' }, OAuthClient: { id: 'bench-client' }, authorizedScope: [] });
const UNAUTHORIZED = JSON.stringify({ message: 'No authentication bearer token specified in authorization header.', code: 'authentication.required', status: 401 });
let issued = 0;

const server = createServer((request, response) => {
  request.resume();
  if (request.method === 'POST' && request.url === '/oauth/token') {
    issued++;
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify({ access_token: `bench-token-${issued}`, token_type: 'bearer', expires_in: TOKEN_LIFETIME_SECONDS }));
  } else if (request.url === '/health') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  } else if (request.headers.authorization?.startsWith('Bearer ')) {
    const headers = RATE_LIMIT_HEADERS ? { 'content-type': 'application/json', ...rateLimitHeaders(request.headers.authorization) } : { 'content-type': 'application/json' };
    response.writeHead(200, headers).end(BODY);
  } else {
    response.writeHead(401, { 'content-type': 'application/json' }).end(UNAUTHORIZED);
  }
});
// Proxies keep pooled connections open across the whole run; Node's 5 s default would close them between phases.
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1', () =>
  process.stdout.write(`fast upstream on 127.0.0.1:${port}${RATE_LIMIT_HEADERS ? ' with rate-limit headers' : ''}\n`),
);
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
