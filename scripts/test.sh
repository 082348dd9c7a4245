#!/usr/bin/env bash
# The whole test suite: typecheck, then mocha against the real Keycloak servers (server 1:
# acme, globex; server 2: initech) and Redis. Reuses servers that already run; starts the
# others (fetching Keycloak the first time, in parallel) and stops only those afterwards
# (KEEP_KEYCLOAK=1 leaves them running for the next run).
# Extra arguments go to mocha, e.g. `npm test -- --grep connect`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Alone after `git clone`: install what the suite needs (lockfile, exact versions).
if [ ! -x node_modules/.bin/mocha ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
started=()
for dir in realms/server*/; do
  n="${dir%/}"; n="${n##*/server}"
  if bash scripts/keycloak.sh status "$n" >/dev/null; then
    echo "[test] reusing the running Keycloak server $n" >&2
  else
    started+=("$n")
  fi
done
cleanup() {
  if [ ${#started[@]} -gt 0 ] && [ -z "${KEEP_KEYCLOAK:-}" ]; then bash scripts/keycloak.sh stop "${started[@]}"; fi
}
trap cleanup EXIT
# Chromium is installed (when missing) while the Keycloak servers start.
bash scripts/ensure-chromium.sh & chromium_pid=$!
if [ ${#started[@]} -gt 0 ]; then bash scripts/keycloak.sh start "${started[@]}"; fi
wait "$chromium_pid"
node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/mocha "$@"
