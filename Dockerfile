# syntax=docker/dockerfile:1
# Build: compile TypeScript with the full dev toolchain.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json openapi-internal.yaml ./
COPY src ./src
COPY db ./db
COPY tools ./tools
# The service, then the console (esbuild bundle, typed client generated from the contract).
RUN npx tsc -p tsconfig.build.json && cp openapi-internal.yaml dist/ && node tools/build-console.ts dist/console

# Production dependencies only: no dev tools, no test files.
FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The image's unprivileged user; files stay root-owned and read-only, so a read-only root filesystem works.
USER node
EXPOSE 8080
# node is PID 1 and handles SIGTERM/SIGINT itself (graceful drain); it starts no child processes to reap.
CMD ["node", "dist/src/server.js"]
