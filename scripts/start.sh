#!/usr/bin/env bash
# Starts everything for real: both Keycloak servers with the demo tenants (fetched and
# started in parallel, each unless it already runs), then the broker over both in the
# foreground on PORT (3000), as production runs it: the compiled JavaScript (dist/), built
# once and again only when a source file is newer than the build.
# Memory store unless REDIS_URL is set; CONFIG_FILE defaults to the demo's.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
if [ ! -f dist/main.js ] || [ -n "$(find src package-lock.json tsconfig.json tsconfig.build.json -newer dist/main.js -print -quit)" ]; then
  echo "[start] building the broker (dist/)" >&2
  rm -rf dist
  node_modules/.bin/tsc -p tsconfig.build.json
fi
bash scripts/keycloak.sh start all
export CONFIG_FILE="${CONFIG_FILE:-demo.config.json}"
exec node dist/main.js
