# frontdesk gateway image (docs/production.md). Builds with the commands CI runs (`npm ci`, `npm run
# build`) and runs what `npm run gateway:prod` runs (`node dist/gateway/main.js`), as the non-root `node`
# user. test/unit/shipping/dockerfile.test.ts checks these commands against package.json.
# Node 24, the active LTS, which CI runs the whole suite on (.ci/run); Node 20, the oldest `engines`
# allows, is past its end of life (April 2026) and gets no security fixes (README "Decisions").

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY subgraphs/kit/package.json subgraphs/kit/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    FRONTDESK_CONFIG=/etc/frontdesk/gateway.yaml
WORKDIR /app
COPY package.json package-lock.json ./
COPY subgraphs/kit/package.json subgraphs/kit/
# Production dependencies only: no tsx, no pino-pretty (`logFormat: pretty` is refused at boot here).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/subgraphs/kit/dist ./subgraphs/kit/dist
COPY schema/supergraph.graphql ./schema/supergraph.graphql
# The only place the process may write (development keys of the local stack); the code stays root-owned.
RUN mkdir -p /app/.dev && chown node:node /app/.dev
USER node
# 4000: GraphQL (listen.port); 9464: GET /metrics when metrics.listen is configured.
EXPOSE 4000 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM: /readyz 503 for shutdownDelay, then drain for up to shutdownGrace (set the orchestrator's
# grace period above their sum). node is PID 1 and handles the signals itself.
CMD ["node", "dist/gateway/main.js"]
