# syntax=docker/dockerfile:1
# The base: the official Node image, pinned by tag. Where a registry is reachable, pin it by digest too:
#   --build-arg BASE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest>   (docs/releasing.md)
# CI passes a locally assembled stand-in when the registry cannot be reached (.ci/image).
ARG BASE_IMAGE=node:24.21.0-bookworm-slim

# Build: compile TypeScript with the full dev toolchain.
FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json openapi-internal.yaml ./
COPY src ./src
COPY db ./db
COPY tools ./tools
COPY k8s/components/eso-delivery/consumer ./k8s/components/eso-delivery/consumer
# The service, then the console (esbuild bundle, typed client generated from the contract).
RUN npx tsc -p tsconfig.build.json && cp openapi-internal.yaml dist/ && node tools/build-console.ts dist/console

# Production dependencies only: no dev tools, no test files.
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM ${BASE_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://example.invalid/set-SOURCE-at-build
LABEL org.opencontainers.image.title="vonage-secrets-gateway" \
      org.opencontainers.image.description="Internal gateway for Vonage API secret management behind SSO" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary"
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
