# syntax=docker/dockerfile:1
# One image for both apps: ingest is the default command, the sink overrides it
#   docker run spillway:latest                              # ingest on :3000
#   docker run spillway:latest node --single-threaded-gc dist/apps/sink/main.js  # sink on :3001
#   docker run spillway:latest spillway validate            # the CLI

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so source edits do not invalidate the npm ci layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# prebuild generates the Lua modules; then drop dev dependencies, since webpack
# leaves node_modules external and the runtime needs the production ones only.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
# The heap ceiling every launcher gives the apps (tools/local-stack/project.ts APP_NODE_FLAGS).
ENV NODE_ENV=production COLLECTIONS_DIR=/app/config/collections NODE_OPTIONS=--max-old-space-size=384
# Files stay owned by root: the app only reads them, and k8s runs it with a read-only root filesystem.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
# The spillway command (npm run cli: validate, plan) on the PATH: kubectl exec <pod> -- spillway plan
RUN printf '#!/bin/sh\nexec node /app/dist/apps/cli/main.js "$@"\n' > /usr/local/bin/spillway \
 && chmod 755 /usr/local/bin/spillway
USER node
EXPOSE 3000 3001
# node is PID 1 and handles SIGTERM itself (Nest shutdown hooks): the sink commits
# and acks the batch in hand, then exits within SINK_SHUTDOWN_MS.
CMD ["node", "dist/apps/ingest/main.js"]
