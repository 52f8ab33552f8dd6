#!/usr/bin/env bash
# Prints the packages' version for a commit (default HEAD):
# 0.1.0+git<commit time, UTC, YYYYMMDDhhmmss>.<commits>.<hash>. dpkg and
# rpm compare it field by field as numbers, so a later commit's build is
# always newer; the count breaks a tie within one second, and the hash only
# names it. Without git: 0.1.0+dev.
set -euo pipefail
rev=${1:-HEAD}
if ! t=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S "$rev" 2>/dev/null); then
	echo "0.1.0+dev"
	exit 0
fi
n=$(git rev-list --count "$rev")
h=$(git rev-parse --short=10 "$rev")
echo "0.1.0+git$t.$n.$h"
