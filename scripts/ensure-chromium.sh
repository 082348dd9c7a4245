#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (playwright-core downloads no browser). Alone after
# `git clone` on a fresh Debian machine it is not there yet: installed here with apt-get when we
# may (root), else the suite's own check names what is missing. CHROMIUM_PATH: use another.
set -euo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0
if [ -n "${CHROMIUM_PATH:-}" ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[test] no Chromium at $chromium (apt-get install chromium, or set CHROMIUM_PATH)" >&2
  exit 0 # the suite fails on it with the same words; the other services still start
fi
echo "[test] installing Debian's chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
