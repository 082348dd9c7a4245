#!/usr/bin/env bash
# Starts everything for real: both Keycloak servers with the demo tenants (fetched and
# started in parallel, each unless it already runs), then the broker over both in the
# foreground on PORT (3000).
# Memory store unless REDIS_URL is set; CONFIG_FILE defaults to the demo's.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/tsx ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
bash scripts/keycloak.sh start all
export CONFIG_FILE="${CONFIG_FILE:-demo.config.json}"
exec node_modules/.bin/tsx src/main.ts
