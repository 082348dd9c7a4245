#!/usr/bin/env bash
# Starts (or reuses) the real Keycloak servers of the demo and the tests, from the server
# distribution on the Maven registry. Server N imports the realm files of realms/serverN/
# and is its own process with its own port, management port, database, pid and log file.
# Idempotent: a server whose health URL says ready is reused (whoever started it); a
# cached distribution is not fetched again.
#
#   scripts/keycloak.sh start [N|all] [--fresh]  fetch if needed, start what is not running
#                                                (in parallel), wait until all are ready
#   scripts/keycloak.sh stop [N|all]             stop the servers this script started (pid files)
#   scripts/keycloak.sh status [N|all]           print each server's state; exit 0 when all are ready
#
# Servers (one per realms/server*/ folder; FIXTURES.md):
#   1  http://127.0.0.1:8080, health on 9000   acme, globex
#   2  http://127.0.0.1:8180, health on 9100   initech
#   N  port 8080+100(N-1), health 9000+100(N-1)
#
# Environment (all optional):
#   KEYCLOAK_VERSION      default 26.7.3
#   KEYCLOAK_URL, KEYCLOAK_MGMT_PORT      server 1 (the URL's port is its HTTP port)
#   KEYCLOAK<N>_URL, KEYCLOAK<N>_MGMT_PORT  server N >= 2, e.g. KEYCLOAK2_URL
#   KEYCLOAK_DB           postgres | dev-file. Default: postgres when PostgreSQL answers on
#                         KEYCLOAK_PG_HOST:KEYCLOAK_PG_PORT (127.0.0.1:5432, user postgres, trust
#                         auth), one database per server (realm_broker_kc<N>, created if missing;
#                         KEYCLOAK_DB_PREFIX changes the prefix, e.g. for a second checkout);
#                         else Keycloak's dev-file H2 database under the server's folder.
#   KC_ADMIN_CLIENT_ID / KC_ADMIN_CLIENT_SECRET  the master-realm service account the broker uses
#   JAVA_HOME             a JDK 21+; otherwise the newest one under /usr/lib/jvm
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd -P)"
version="${KEYCLOAK_VERSION:-26.7.3}"
cache="$root/.keycloak"
zip="$cache/keycloak-quarkus-dist-$version.zip"
pg_host="${KEYCLOAK_PG_HOST:-127.0.0.1}"
pg_port="${KEYCLOAK_PG_PORT:-5432}"
pg_user="${KEYCLOAK_PG_USER:-postgres}"

say() { echo "[keycloak] $*" >&2; }

# The servers are the folders realms/server1, realms/server2, ...
all_servers() {
  local d
  for d in "$root"/realms/server*/; do d="${d%/}"; echo "${d##*/server}"; done | sort -n
}

# Per-server settings: server 1 keeps the historical variable names.
url_of() {
  if [ "$1" = 1 ]; then echo "${KEYCLOAK_URL:-http://127.0.0.1:8080}"
  else local v="KEYCLOAK${1}_URL"; echo "${!v:-http://127.0.0.1:$((8080 + 100 * ($1 - 1)))}"; fi
}
port_of() { local u; u="$(url_of "$1")"; u="${u##*:}"; echo "${u%%/*}"; }
mgmt_of() {
  if [ "$1" = 1 ]; then echo "${KEYCLOAK_MGMT_PORT:-9000}"
  else local v="KEYCLOAK${1}_MGMT_PORT"; echo "${!v:-$((9000 + 100 * ($1 - 1)))}"; fi
}
home_of() { echo "$cache/server$1/keycloak-$version"; }
pidfile_of() { echo "$cache/server$1.pid"; }
log_of() { echo "$cache/server$1.log"; }
db_name_of() { echo "${KEYCLOAK_DB_PREFIX:-realm_broker_kc}$1"; }
ready_url_of() { echo "http://127.0.0.1:$(mgmt_of "$1")/health/ready"; }

is_ready() { curl -fsS -m 2 "$(ready_url_of "$1")" >/dev/null 2>&1; }

psql_() { PGOPTIONS='--client-min-messages=warning' psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

# PostgreSQL lets `kc.sh export` run beside a running server (the dev-file H2 database is
# locked by it), which moving a tenant between servers needs.
db_kind() {
  case "${KEYCLOAK_DB:-}" in
    postgres|dev-file) echo "$KEYCLOAK_DB" ;;
    "") if command -v psql >/dev/null && psql_ -c 'select 1' >/dev/null 2>&1; then echo postgres; else echo dev-file; fi ;;
    *) say "KEYCLOAK_DB must be postgres or dev-file"; exit 2 ;;
  esac
}

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

# One copy of the distribution per server: `start-dev` rebuilds it in place for its
# database kind, and two servers must not rebuild one folder at the same time.
fetch() {
  local n="$1" home; home="$(home_of "$1")"
  [ -x "$home/bin/kc.sh" ] && return
  mkdir -p "$cache"
  if [ ! -f "$zip" ]; then
    say "fetching org.keycloak:keycloak-quarkus-dist:$version (zip) with Maven"
    mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$version:zip" \
      -DoutputDirectory="$cache" -Dmdep.overWriteReleases=false 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
  fi
  local part="$cache/server$n.partial"
  rm -rf "$part" && mkdir -p "$part"
  if command -v unzip >/dev/null; then unzip -q "$zip" -d "$part"
  else (cd "$part" && "$(pick_jdk)/bin/jar" xf "$zip"); fi
  mkdir -p "$(dirname "$home")"
  mv "$part/keycloak-$version" "$home" && rm -rf "$part"
  chmod +x "$home/bin/"*.sh
}

# Empties server N's database so that --import-realm imports every realm file again
# (it skips realms that exist).
wipe() {
  local n="$1" kind="$2" home; home="$(home_of "$1")"
  rm -rf "$home/data"
  if [ "$kind" = postgres ]; then
    psql_ -c "DROP DATABASE IF EXISTS $(db_name_of "$n")" >/dev/null
  fi
}

# Launches server N in the background (no waiting). Prints nothing on stdout.
launch() {
  local n="$1" fresh="$2" kind="$3"
  local home url port mgmt log pidfile
  home="$(home_of "$n")"; url="$(url_of "$n")"; port="$(port_of "$n")"; mgmt="$(mgmt_of "$n")"
  log="$(log_of "$n")"; pidfile="$(pidfile_of "$n")"
  fetch "$n"
  # The database keeps realms across starts: when this server's realm files (or the
  # database kind) changed since its last import, start from an empty database.
  local digest shafile="$cache/server$n.realms.sha"
  digest="$( (cat "$root/realms/server$n/"*.json; echo "$kind") | sha256sum | cut -c1-16)"
  if [ "$fresh" = 1 ]; then say "server $n: --fresh: wiping its database"; wipe "$n" "$kind"
  elif [ ! -f "$shafile" ]; then
    say "server $n: first start here: importing into an empty database"; wipe "$n" "$kind"
  elif [ "$(cat "$shafile")" != "$digest" ]; then
    say "server $n: realms/server$n (or the database kind) changed since its last import: wiping its database"; wipe "$n" "$kind"
  fi
  local db_args=()
  if [ "$kind" = postgres ]; then
    local db; db="$(db_name_of "$n")"
    if [ -z "$(psql_ -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      psql_ -c "CREATE DATABASE $db" >/dev/null
    fi
    db_args=(--db=postgres "--db-url=jdbc:postgresql://$pg_host:$pg_port/$db" "--db-username=$pg_user")
  fi
  # --import-realm reads data/import; realms that already exist are left alone.
  mkdir -p "$home/data/import"
  rm -f "$home/data/import/"*.json
  cp "$root/realms/server$n/"*.json "$home/data/import/"
  echo "$digest" >"$shafile"
  local jdk; jdk="$(pick_jdk)"
  say "server $n: starting Keycloak $version with $jdk on $url (health on :$mgmt, database: $kind${db_args:+ $(db_name_of "$n")}); log: $log"
  (
    export JAVA_HOME="$jdk" PATH="$jdk/bin:$PATH"
    export KC_BOOTSTRAP_ADMIN_CLIENT_ID="${KC_ADMIN_CLIENT_ID:-realm-broker-admin}"
    export KC_BOOTSTRAP_ADMIN_CLIENT_SECRET="${KC_ADMIN_CLIENT_SECRET:-realm-broker-admin-secret}"
    export KC_BOOTSTRAP_ADMIN_USERNAME="${KC_BOOTSTRAP_ADMIN_USERNAME:-admin}"
    export KC_BOOTSTRAP_ADMIN_PASSWORD="${KC_BOOTSTRAP_ADMIN_PASSWORD:-admin}"
    cd "$home"
    nohup setsid bin/kc.sh start-dev --import-realm --http-port="$port" --http-management-port="$mgmt" \
      --health-enabled=true --log-level=info "${db_args[@]}" >"$log" 2>&1 &
    echo $! >"$pidfile"
  )
  date +%s >"$cache/server$n.started"
}

wait_ready() {
  local n="$1" t0 pidfile log
  pidfile="$(pidfile_of "$n")"; log="$(log_of "$n")"
  t0="$(cat "$cache/server$n.started" 2>/dev/null || date +%s)"
  until is_ready "$n"; do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      say "server $n exited during start; last lines of $log:"; tail -n 40 "$log" >&2; return 1
    fi
    if [ $(($(date +%s) - t0)) -gt "${KEYCLOAK_START_TIMEOUT:-300}" ]; then
      say "server $n not ready after $(($(date +%s) - t0)) s; last lines of $log:"; tail -n 40 "$log" >&2; return 1
    fi
    sleep 1
  done
  say "server $n ready after $(($(date +%s) - t0)) s ($(url_of "$n"))"
}

start() {
  local fresh=0 which=() n launched=() waiting=() kind
  for a in "$@"; do case "$a" in --fresh) fresh=1 ;; *) which+=("$a") ;; esac; done
  local list; list="$(select_servers "${which[@]}")"; read -r -a which <<<"$(echo $list)"
  kind="$(db_kind)"
  for n in "${which[@]}"; do
    if is_ready "$n"; then
      say "server $n: reusing the Keycloak already running ($(ready_url_of "$n"))"
    elif curl -s -m 2 -o /dev/null "$(url_of "$n")" 2>/dev/null; then
      say "server $n: something answers on $(url_of "$n") but $(ready_url_of "$n") is not ready; waiting for it"
      rm -f "$cache/server$n.started"; waiting+=("$n")
    else
      launch "$n" "$fresh" "$kind"; launched+=("$n"); waiting+=("$n")
    fi
  done
  # All launched servers start at once: their waits overlap.
  local failed=0
  for n in "${waiting[@]}"; do wait_ready "$n" || failed=1; done
  return $failed
}

stop_one() {
  local n="$1" pidfile pid; pidfile="$(pidfile_of "$1")"
  [ -f "$pidfile" ] || { say "server $n: none started by this script"; return; }
  pid="$(cat "$pidfile")"
  # A stale pid file may name a process that reused the number: kill only a process that
  # runs in this server's folder (kc.sh is started there, as its own process group).
  if kill -0 "$pid" 2>/dev/null && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" != "$(home_of "$n")" ]; then
    say "server $n: pid $pid is not the Keycloak of $(home_of "$n") (stale pid file): left alone"
  elif kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; }
    say "server $n: stopped (pid $pid)"
  fi
  rm -f "$pidfile"
}

stop() {
  local n list; list="$(select_servers "$@")"
  for n in $list; do stop_one "$n"; done
}

# Resident memory of the process listening on server N's port (whoever started it), in MiB.
rss_of() {
  local pid
  pid="$(ss -ltnpH "sport = :$(port_of "$1")" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)"
  [ -n "$pid" ] && ps -o rss= -p "$pid" 2>/dev/null | awk '{printf "pid %d, RSS %d MiB", '"$pid"', $1 / 1024}'
}

status() {
  local n rc=0 list; list="$(select_servers "$@")"
  for n in $list; do
    if is_ready "$n"; then echo "server $n: ready  $(url_of "$n") (health :$(mgmt_of "$n")) $(rss_of "$n")"
    else echo "server $n: down   $(url_of "$n") (health :$(mgmt_of "$n"))"; rc=1; fi
  done
  return $rc
}

# "all" (or nothing) → every server; otherwise the numbers given, which must have realms.
select_servers() {
  if [ $# -eq 0 ] || [ "$1" = all ]; then all_servers; return; fi
  local n
  for n in "$@"; do
    [ -d "$root/realms/server$n" ] || { say "no server $n (no realms/server$n folder)"; exit 2; }
    echo "$n"
  done
}

cmd="${1:-start}"; shift || true
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  status) status "$@" ;;
  *) echo "usage: $0 start [N|all] [--fresh] | stop [N|all] | status [N|all]" >&2; exit 2 ;;
esac
