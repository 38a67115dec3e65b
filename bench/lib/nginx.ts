import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, type Child } from './children.js';

/** `nginx -v`'s version, or undefined when nginx is not installed (the bench never installs it). */
export function nginxVersion(): string | undefined {
  // nginx prints its version on stderr.
  const { stderr, error } = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (error) return undefined;
  return /nginx\/(\S+)/.exec(stderr)?.[1] ?? 'unknown';
}

/**
 * nginx as a plain reverse proxy doing the same job as the bare proxy: forward with a constant
 * Authorization header over a keep-alive upstream pool. One worker per CPU (`auto`), as the sidecar's
 * WORKERS=auto; keep-alive limits raised so nginx does not close client or upstream connections every
 * 1,000 requests, which the node servers never do either. Everything lives in a temporary prefix.
 */
export function startNginx(port: number, upstreamPort: number): Child {
  const prefix = mkdtempSync(join(tmpdir(), 'token-sidecar-bench-nginx-'));
  const config = `
worker_processes auto;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  upstream api {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer bench-constant-token";
    }
  }
}
`;
  const path = join(prefix, 'nginx.conf');
  writeFileSync(path, config);
  return startChild('nginx', 'nginx', ['-p', prefix, '-c', path, '-e', join(prefix, 'error.log')], {}, () =>
    rmSync(prefix, { recursive: true, force: true }),
  );
}
