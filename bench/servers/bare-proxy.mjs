// The floor the sidecar's machinery adds to: a bare fastify + @fastify/http-proxy that forwards every
// request with a constant Authorization header and does nothing else: no token lifecycle, no
// dispatcher wrapper, no metrics. Its upstream pool has the sidecar's size (UPSTREAM_CONNECTIONS
// default 256), so the two differ only by what the sidecar does per request. Plain JavaScript so no
// TypeScript loader runs beside it.
//
// Usage: node bench/servers/bare-proxy.mjs <port> <upstream url>
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const [port, upstream] = [Number(process.argv[2]), process.argv[3]];
const app = Fastify({ logger: false });
await app.register(httpProxy, {
  upstream,
  undici: { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 },
  replyOptions: {
    rewriteRequestHeaders: (_request, headers) => ({ ...headers, authorization: 'Bearer bench-constant-token' }),
  },
});
await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`bare proxy on 127.0.0.1:${port} -> ${upstream}\n`);
// Exit explicitly once closed, so `node --cpu-prof` writes its profile (bench/profile.ts).
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
