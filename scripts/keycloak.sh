#!/usr/bin/env bash
# Starts (or reuses) a real Keycloak for development and tests, from the server
# distribution on the Maven registry. Idempotent: a running, healthy Keycloak is
# reused; a cached distribution is not fetched again.
#
#   scripts/keycloak.sh start [--fresh]   fetch if needed, start if needed, wait until ready
#   scripts/keycloak.sh stop              stop the Keycloak this script started
#   scripts/keycloak.sh status            exit 0 when ready
#
# Environment (all optional):
#   KEYCLOAK_VERSION   default 26.7.3
#   KEYCLOAK_URL       default http://127.0.0.1:8080 (its port is the HTTP port)
#   KEYCLOAK_MGMT_PORT default 9000 (health)
#   KC_ADMIN_CLIENT_ID / KC_ADMIN_CLIENT_SECRET  the master-realm service account the broker uses
#   KC_DB_URL          a JDBC URL: PostgreSQL instead of the dev-file database (KC_DB_USERNAME/PASSWORD too)
#   JAVA_HOME          a JDK 21+; otherwise the newest one under /usr/lib/jvm
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
version="${KEYCLOAK_VERSION:-26.7.3}"
cache="$root/.keycloak"
home="$cache/keycloak-$version"
url="${KEYCLOAK_URL:-http://127.0.0.1:8080}"
port="${url##*:}"; port="${port%%/*}"
mgmt="${KEYCLOAK_MGMT_PORT:-9000}"
pidfile="$cache/keycloak.pid"
log="$cache/keycloak.log"
ready_url="http://127.0.0.1:$mgmt/health/ready"

say() { echo "[keycloak] $*" >&2; }

is_ready() { curl -fsS -m 2 "$ready_url" >/dev/null 2>&1; }

# Keycloak 26.6+ runs on JDK 21 and 25. Prefer JAVA_HOME when it is new enough, else
# the newest JDK >= 21 under /usr/lib/jvm (here: Temurin 25; the default OpenJDK 17 is too old).
pick_jdk() {
  local cand major best="" best_major=0
  for cand in ${JAVA_HOME:-} /usr/lib/jvm/*; do
    [ -x "$cand/bin/java" ] || continue
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$cand/release" 2>/dev/null || true)
    [ -n "$major" ] || continue
    if [ "$cand" = "${JAVA_HOME:-}" ] && [ "$major" -ge 21 ]; then echo "$cand"; return; fi
    if [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then best="$cand"; best_major=$major; fi
  done
  [ -n "$best" ] || { say "no JDK 21+ found (set JAVA_HOME); Keycloak $version needs one"; exit 1; }
  echo "$best"
}

fetch() {
  [ -x "$home/bin/kc.sh" ] && return
  mkdir -p "$cache"
  say "fetching org.keycloak:keycloak-quarkus-dist:$version (zip) with Maven"
  mvn -q -B dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$version:zip" \
    -DoutputDirectory="$cache" -Dmdep.overWriteReleases=false >&2
  local zip="$cache/keycloak-quarkus-dist-$version.zip"
  rm -rf "$home.partial" && mkdir -p "$home.partial"
  if command -v unzip >/dev/null; then unzip -q "$zip" -d "$home.partial"
  else (cd "$home.partial" && "$(pick_jdk)/bin/jar" xf "$zip"); fi
  mv "$home.partial/keycloak-$version" "$home" && rm -rf "$home.partial" "$zip"
  chmod +x "$home/bin/"*.sh
}

start() {
  if is_ready; then say "reusing the Keycloak already running ($ready_url)"; return; fi
  if curl -s -m 2 -o /dev/null "$url" 2>/dev/null; then
    say "something answers on $url but $ready_url is not ready; waiting for it"
    wait_ready; return
  fi
  fetch
  # The dev-file database keeps realms across starts and --import-realm skips realms
  # that exist: when realms/ changed since the last import, start from a clean database.
  local digest; digest="$(cat "$root"/realms/*.json | sha256sum | cut -c1-16)"
  if [ -z "${KC_DB_URL:-}" ] && [ -d "$home/data" ] && [ "$(cat "$home/data/realms.sha" 2>/dev/null)" != "$digest" ]; then
    say "realms/ changed since the last import: wiping the dev database"; rm -rf "$home/data"
  fi
  if [ "${1:-}" = "--fresh" ]; then say "wiping $home/data"; rm -rf "$home/data"; fi
  local jdk; jdk="$(pick_jdk)"
  # --import-realm reads data/import; realms that already exist are left alone.
  mkdir -p "$home/data/import"
  rm -f "$home/data/import/"*.json
  cp "$root"/realms/*.json "$home/data/import/"
  echo "$digest" >"$home/data/realms.sha"
  if [ -n "${KC_DB_URL:-}" ]; then export KC_DB="${KC_DB:-postgres}"; say "database: $KC_DB at $KC_DB_URL"; fi
  say "starting Keycloak $version with $jdk on $url (health on :$mgmt); log: $log"
  (
    export JAVA_HOME="$jdk" PATH="$jdk/bin:$PATH"
    export KC_BOOTSTRAP_ADMIN_CLIENT_ID="${KC_ADMIN_CLIENT_ID:-realm-broker-admin}"
    export KC_BOOTSTRAP_ADMIN_CLIENT_SECRET="${KC_ADMIN_CLIENT_SECRET:-realm-broker-admin-secret}"
    export KC_BOOTSTRAP_ADMIN_USERNAME="${KC_BOOTSTRAP_ADMIN_USERNAME:-admin}"
    export KC_BOOTSTRAP_ADMIN_PASSWORD="${KC_BOOTSTRAP_ADMIN_PASSWORD:-admin}"
    cd "$home"
    nohup setsid bin/kc.sh start-dev --import-realm --http-port="$port" --http-management-port="$mgmt" \
      --health-enabled=true --log-level=info >"$log" 2>&1 &
    echo $! >"$pidfile"
  )
  wait_ready
}

wait_ready() {
  local t0=$SECONDS
  until is_ready; do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      say "Keycloak exited during start; last lines of $log:"; tail -n 40 "$log" >&2; exit 1
    fi
    if [ $((SECONDS - t0)) -gt "${KEYCLOAK_START_TIMEOUT:-300}" ]; then
      say "not ready after $((SECONDS - t0)) s; last lines of $log:"; tail -n 40 "$log" >&2; exit 1
    fi
    sleep 1
  done
  say "ready after $((SECONDS - t0)) s"
}

stop() {
  [ -f "$pidfile" ] || { say "no Keycloak started by this script"; return; }
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; }
    say "stopped (pid $pid)"
  fi
  rm -f "$pidfile"
}

case "${1:-start}" in
  start) shift || true; start "$@" ;;
  stop) stop ;;
  status) is_ready ;;
  *) echo "usage: $0 start [--fresh] | stop | status" >&2; exit 2 ;;
esac
