#!/usr/bin/env bash
# The whole test suite: typecheck, then mocha against the real Keycloak and Redis.
# Reuses a running Keycloak; otherwise starts one (fetching it the first time) and
# stops it afterwards (KEEP_KEYCLOAK=1 leaves it running for the next run).
# Extra arguments go to mocha, e.g. `npm test -- --grep connect`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Alone after `git clone`: install what the suite needs (lockfile, exact versions).
if [ ! -x node_modules/.bin/mocha ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
started=""
if bash scripts/keycloak.sh status; then
  echo "[test] reusing the running Keycloak" >&2
else
  bash scripts/keycloak.sh start
  started=1
fi
cleanup() { if [ -n "$started" ] && [ -z "${KEEP_KEYCLOAK:-}" ]; then bash scripts/keycloak.sh stop; fi; }
trap cleanup EXIT
node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/mocha "$@"
