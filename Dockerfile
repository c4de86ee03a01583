# The Bazaar image: the compiled API, worker and migrations on Node 20 (package.json `engines`).
# One image, three commands: the API (CMD below), the worker (`node ... dist/src/worker.js`) and
# migrations (`node dist/scripts/migrate.js up`), as docker-compose.yml runs them.
# `npm run test:image` replays these steps in a scratch folder where no Docker engine is at hand
# (scripts/image-dry-run.ts): RUN commands therefore use paths relative to WORKDIR.

ARG NODE_IMAGE=node:20-bookworm-slim

# Build: every dependency (TypeScript among them), then `npm run build` to dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency needs its install script (native code comes prebuilt, as optional packages per
# platform), and development's npm runs none unless approved: the image installs the same tree.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm run build

# Runtime: production dependencies only (no TypeScript, no tsx, no tap), the build, and the
# launcher that `npm run start:api`, `start:worker`, `migrate` and `admin:create` go through.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# npm keeps a devDependency that a production package names as an optional peer ("devOptional"
# in the lockfile: typescript for valibot, @types/node for stripe; types only, never loaded).
RUN node -e "const fs = require('fs'); \
  for (const [path, p] of Object.entries(require('./package-lock.json').packages)) if (p.devOptional) fs.rmSync(path, { recursive: true, force: true }); \
  for (const bin of fs.readdirSync('node_modules/.bin')) if (!fs.existsSync('node_modules/.bin/' + bin)) fs.rmSync('node_modules/.bin/' + bin)"
COPY --from=build /app/dist ./dist
COPY scripts/launch.js ./scripts/launch.js
# DATA_DIR (./data): uploads live here, so the API and the worker share it as a volume; the one
# folder the app writes to, owned by the user it runs as.
RUN mkdir -p data/uploads && chown -R 1000:1000 data
# The official image's `node` user, by number so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
# Inside a container the API listens on every interface; publish or proxy the port.
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
# Slim images have no curl: Node's fetch asks the liveness route (no Postgres, no Redis).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (no npm in between), so SIGTERM reaches the server's drain logic.
CMD ["node", "--max-old-space-size=512", "--max-semi-space-size=8", "dist/src/server.js"]
