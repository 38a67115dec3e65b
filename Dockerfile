# syntax=docker/dockerfile:1
#
# token-sidecar image: `docker build -t token-sidecar:latest .`
#   docker run --rm -p 127.0.0.1:8080:8080 -p 127.0.0.1:9464:9464 --env-file .env token-sidecar:latest
#   docker run --rm token-sidecar:latest mock --host 0.0.0.0      (the rehearsal upstream)
# docker-compose.yml and docker/k8s/ run this same image.

# Node 24 is the active LTS line. One ARG pins both stages, so the compiler and the runtime can
# never disagree about the Node version.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# ---- build: full dependency tree, compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the dependency layer is reused until package-lock.json changes.
# --ignore-scripts skips `prepare` (src/ is not here yet) and esbuild's postinstall (tsc does not
# need it); the build runs explicitly below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and dist/ only ----
FROM ${NODE_IMAGE} AS runtime
# A container is reached through published ports, so both listeners bind every interface.
# Protected mode then makes the proxy refuse to start without INBOUND_API_KEY (or PROTECTED_MODE=off),
# so the image cannot become an open token-injecting relay by accident. ADMIN_HOST is set on its own
# so that HOST=127.0.0.1 (a pod shared with the load generator) keeps the admin port reachable for
# probes and scraping.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    ADMIN_HOST=0.0.0.0
WORKDIR /app
# --ignore-scripts: `prepare` would run tsc, which is a dev dependency; no production dependency
# has an install script.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Everything above is owned by root and only readable by `node` (uid 1000 in the official image):
# the process cannot rewrite its own code, and a read-only root filesystem works as is.
USER node
EXPOSE 8080 9464
# Liveness only (the process serves). Readiness (a valid token held) is /readyz; compose and
# Kubernetes ask for it where it matters. Node's own fetch: the slim image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ADMIN_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# PID 1 is node itself (exec form, no shell in between), and the CLI installs SIGTERM/SIGINT
# handlers that drain in-flight requests and exit 0, so no init process is needed for signals.
# The only child processes are WORKERS>1 workers, which node starts and reaps itself; nothing else
# can leave zombies behind. Add `--init` (docker run) / `init: true` (compose) if that ever changes.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
