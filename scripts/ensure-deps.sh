#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need when they are
# missing, so that `make test` and `make demo` work on a fresh machine. CI runs as root; elsewhere sudo is
# used if present.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
command -v curl >/dev/null 2>&1 || need+=(curl)   # make demo
[ -f /usr/include/fido.h ] || need+=(libfido2-dev)   # cgo: go-libfido2 and fido/virtualkey/hidroute
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v tmux >/dev/null 2>&1 || need+=(tmux)   # the kiosk's end-to-end journeys
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)   # packaging/: verify and score the units (no running systemd needed)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)   # packaging/: inspect the .debs
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # console/: the helpdesk console's browser tests
command -v npm >/dev/null 2>&1 || need+=(npm)   # console/: fetches axe-core (below)
# axe-core for the console's accessibility checks, from npm into a cache
# outside the repo (console/browser_test.go reads it there, or $TAPKIOSK_AXE).
axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/tapkiosk/axe"
fetch_axe() { [ -f "$axe_dir/node_modules/axe-core/axe.min.js" ] || npm install --silent --no-save --prefix "$axe_dir" axe-core@4 >/dev/null; }
trap 'fetch_axe' EXIT

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "ensure-deps: installing ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "ensure-deps: need root (or sudo) to install: ${need[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian package may start a cluster of its own; the tests start their
# own throwaway clusters and do not need it.
