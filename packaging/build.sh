#!/usr/bin/env bash
# Builds the packages: tapkiosk-tapd (tapd and tapctl, static, CGO_ENABLED=0)
# and tapkiosk-kiosk (the kiosk, cgo with libfido2), each as .deb and .rpm,
# into $OUT (default dist/). nfpm comes through the Go module proxy, pinned.
#   packaging/build.sh            # or: make package
#   OUT=/tmp/p FORMATS=deb packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=$(mkdir -p "${OUT:-dist}" && cd "${OUT:-dist}" && pwd)
FORMATS=${FORMATS:-deb rpm}
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
if [ -z "${VERSION:-}" ]; then
	rev=$(git rev-parse --short=10 HEAD 2>/dev/null || echo dev)
	VERSION="0.1.0+git${rev}"
fi
export VERSION
export ARCH=${ARCH:-$($GO env GOARCH)}
export BIN="$OUT/bin"
mkdir -p "$BIN"
[ -f docs/deploy.md ] || { echo "build.sh: docs/deploy.md is missing" >&2; exit 1; }

CGO_ENABLED=0 $GO build -ldflags "-s -w" -o "$BIN/tapd" ./cmd/tapd
CGO_ENABLED=0 $GO build -ldflags "-s -w" -o "$BIN/tapctl" ./cmd/tapctl
CGO_ENABLED=1 $GO build -ldflags "-s -w" -o "$BIN/kiosk" ./cmd/kiosk
for pkg in tapd kiosk; do
	for f in $FORMATS; do
		$GO run "$NFPM" package --config "packaging/nfpm-$pkg.yaml" --packager "$f" --target "$OUT/" >/dev/null
	done
done
ls "$OUT"/*.deb "$OUT"/*.rpm 2>/dev/null || true
