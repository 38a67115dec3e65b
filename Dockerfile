# token-sidecar image: `docker build -t token-sidecar:latest .`
#   docker run --rm -p 127.0.0.1:8080:8080 -p 127.0.0.1:9464:9464 --env-file .env token-sidecar:latest
#   docker run --rm token-sidecar:latest mock --host 0.0.0.0      (the rehearsal upstream)
# docker-compose.yml and docker/k8s/ run this same image.
#
# Needs BuildKit (the default builder since Docker Engine 23) for the RUN --mount secrets below.
# No `# syntax=` line on purpose: it would make BuildKit pull a Dockerfile frontend image from Docker
# Hub before reading anything else, so an offline or mirror-only build would fail at line 1; the
# frontend built into the engine knows everything used here.
#
# Behind a corporate npm mirror (docker/README.md, "Building behind a corporate mirror"):
#   docker build --build-arg npm_config_registry=https://npm.example.internal/ \
#     --secret id=npm_ca,src=corp-ca.pem --secret id=npmrc,src=$HOME/.npmrc -t token-sidecar:latest .
# The registry URL is a build argument (not secret: it shows in `docker history`); the CA file and an
# .npmrc with credentials are build secrets, mounted only while `npm ci` runs and in no layer. Both
# secrets are optional. npm takes HTTP(S)_PROXY / NO_PROXY from Docker's predefined proxy arguments.

# Node 24 is the active LTS line. One ARG pins both stages, so the compiler and the runtime can
# never disagree about the Node version.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# ---- build: full dependency tree, compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# npm reads npm_config_registry from the environment, and an ARG is in the environment only of the
# RUNs after it in its own stage, so each stage that installs declares it. Unset, npm's default applies.
ARG npm_config_registry
# Manifests first: the dependency layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
# --ignore-scripts skips `prepare` (src/ is not here yet) and esbuild's postinstall (tsc does not
# need it); the build runs explicitly below. --cafile replaces npm's list of trusted CAs with the
# file's certificates; npm ignores a cafile that does not exist, as when no npm_ca secret is given.
RUN --mount=type=secret,id=npm_ca,target=/run/secrets/npm_ca \
    --mount=type=secret,id=npmrc,target=/root/.npmrc \
    npm ci --ignore-scripts --no-audit --no-fund --cafile=/run/secrets/npm_ca
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
ARG npm_config_registry
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc, which is a dev dependency; no production dependency
# has an install script. The same RUN removes what npm leaves behind, so no layer holds it: its
# package cache and debug logs (root's ~/.npm) and the compile cache Node keeps for npm's own code.
RUN --mount=type=secret,id=npm_ca,target=/run/secrets/npm_ca \
    --mount=type=secret,id=npmrc,target=/root/.npmrc \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --cafile=/run/secrets/npm_ca \
    && rm -rf /root/.npm /tmp/node-compile-cache
COPY --from=build /app/dist ./dist
# Everything above is owned by root and only readable by `node` (uid 1000 in the official image):
# the process cannot rewrite its own code, and a read-only root filesystem works as is.
USER node
EXPOSE 8080 9464
# Liveness only (the process serves). Readiness (a valid token held) is /readyz; compose and
# Kubernetes ask for it where it matters. dist/healthcheck.js reads the running command's argv
# (/proc/1/cmdline) and this environment with the command's own parsers, so it asks `serve` for
# /healthz on its admin port (--admin-port or ADMIN_PORT) and `mock` for /__stats on its port.
# Node's own fetch: the slim image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
# PID 1 is node itself (exec form, no shell in between), and the CLI installs SIGTERM/SIGINT
# handlers that drain in-flight requests and exit 0, so no init process is needed for signals.
# The only child processes are WORKERS>1 workers, which node starts and reaps itself; nothing else
# can leave zombies behind. Add `--init` (docker run) / `init: true` (compose) if that ever changes.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
