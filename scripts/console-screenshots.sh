#!/usr/bin/env bash
# Regenerates docs/screens/console-*.png, one per page of the helpdesk
# console, for the README: the browser walk (console's TestConsoleWalk, in
# headless Chromium) saves each page it checks with axe-core. Run it again
# after changing the pages.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
out="$PWD/docs/screens"
mkdir -p "$out"
TAPKIOSK_SCREENS="$out" go test -count=1 -run '^TestConsoleWalk$' ./console/
ls "$out"/console-*.png
