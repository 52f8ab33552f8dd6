#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need when they are
# missing, so that `make test` and `make demo` work on a fresh machine.
# Each check looks for the file the build or a test uses (a header, a
# program), not only for a package's name. CI runs as root; elsewhere sudo
# is used if present. apt-get's own progress is shown.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
command -v curl >/dev/null 2>&1 || need+=(curl)   # make demo
[ -f /usr/include/fido.h ] || need+=(libfido2-dev)   # cgo: go-libfido2 and fido/virtualkey/hidroute
command -v gcc >/dev/null 2>&1 || need+=(gcc)   # cgo
[ -f /usr/include/stdlib.h ] || need+=(libc6-dev)   # cgo: the C headers every cgo file includes
command -v tmux >/dev/null 2>&1 || need+=(tmux)   # the kiosk's end-to-end journeys
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)   # packaging/: verify and score the units
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)   # packaging/: inspect the .debs
command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)   # packaging/build.sh: the kiosk's versioned Depends
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)   # packaging/: boot the packages under systemd
command -v rpm >/dev/null 2>&1 || need+=(rpm)   # packaging/: read the .rpms (files, scripts, requirements)
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # console/: the helpdesk console's browser tests
command -v npm >/dev/null 2>&1 || need+=(npm)   # console/: fetches axe-core (below)
# axe-core for the console's accessibility checks, from npm into a cache
# outside the repo (console/browser_test.go reads it there, or $TAPKIOSK_AXE).
# It runs on the way out, after apt has brought npm if it was missing; a
# failed fetch fails `make deps`.
axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/tapkiosk/axe"
fetch_axe() { [ -f "$axe_dir/node_modules/axe-core/axe.min.js" ] || npm install --no-save --prefix "$axe_dir" axe-core@4; }
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
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${need[@]}"
# The Debian package may start a cluster of its own; the tests start their
# own throwaway clusters and do not need it.
