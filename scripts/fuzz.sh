#!/usr/bin/env bash
# The fuzz suite (test/fuzz) with many more cases than the test command runs, against the
# real Keycloak (started if none runs, as for npm test) and, with --redis, the real Redis.
#
#   npm run fuzz                         2500 cases per property (16 properties, ~35,000 cases)
#   npm run fuzz -- --runs 10000         more
#   npm run fuzz -- --seed 1234          replay a run (a failure prints its seed)
#   npm run fuzz -- --collect            do not stop at the first failure: list every broken rule
#   npm run fuzz -- --redis              the broker on the shared Redis, under its own key prefix
#   npm run fuzz -- --budget 600         stop generating after about that many seconds
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_RUNS="${FUZZ_RUNS:-2500}"
# No time budget unless asked for (the test command caps the suite at 50 s).
export FUZZ_BUDGET_S="${FUZZ_BUDGET_S:-0}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) FUZZ_RUNS="$2"; shift 2 ;;
    --seed) export FUZZ_SEED="$2"; shift 2 ;;
    --collect) export FUZZ_COLLECT=1; shift ;;
    --redis) export FUZZ_STORE=redis; shift ;;
    --budget) FUZZ_BUDGET_S="$2"; shift 2 ;;
    *) echo "fuzz: unknown argument $1 (--runs N, --seed S, --collect, --redis, --budget SECONDS)" >&2; exit 2 ;;
  esac
done
if [ ! -x node_modules/.bin/mocha ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
started=""
if ! bash scripts/keycloak.sh status; then
  bash scripts/keycloak.sh start
  started=1
fi
cleanup() { if [ -n "$started" ] && [ -z "${KEEP_KEYCLOAK:-}" ]; then bash scripts/keycloak.sh stop; fi; }
trap cleanup EXIT
# The suite's own mocha settings, on the fuzz files only.
node_modules/.bin/mocha --no-config --node-option import=tsx --require test/helpers/services.ts \
  --reporter test/helpers/summary-reporter.cjs --timeout 0 --exit 'test/fuzz/**/*.test.ts'
