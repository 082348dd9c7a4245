# realm-broker: the compiled broker, non-root, on a minimal runtime image (no shell, no
# package manager). Keycloak and Redis come from docker-compose.yml (or your own).
# Cannot be built on the project's own machines (no Docker engine there): kept in step with
# the scripts by hand.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# distroless: the node binary and its libraries only; runs as uid 65532 ("nonroot").
FROM gcr.io/distroless/nodejs24-debian12:nonroot
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 MANAGEMENT_PORT=9464
WORKDIR /app
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The demo's registry and host maps, for docker-compose.yml (a deployment mounts its own CONFIG_FILE).
COPY demo.config.json ./
EXPOSE 3000 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/nodejs/bin/node", "dist/healthcheck.js"]
CMD ["dist/main.js"]
