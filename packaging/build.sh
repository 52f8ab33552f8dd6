#!/usr/bin/env bash
# Builds the packages: tapkiosk-tapd (tapd and tapctl, static, CGO_ENABLED=0)
# and tapkiosk-kiosk (the kiosk, cgo with libfido2), each as .deb and .rpm,
# into $OUT (default dist/). nfpm comes through the Go module proxy, pinned.
#   packaging/build.sh            # or: make package
#   OUT=/tmp/p FORMATS=deb PACKAGES=tapd VERSION=1.2.3 packaging/build.sh
# The version is packaging/version.sh's unless VERSION is given.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=$(mkdir -p "${OUT:-dist}" && cd "${OUT:-dist}" && pwd)
FORMATS=${FORMATS:-deb rpm}
PACKAGES=${PACKAGES:-tapd kiosk}
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
if [ -z "${VERSION:-}" ]; then
	VERSION=$(packaging/version.sh)
fi
export VERSION
export ARCH=${ARCH:-$($GO env GOARCH)}
export BIN="$OUT/bin"
mkdir -p "$BIN"
[ -f docs/deploy.md ] || { echo "build.sh: docs/deploy.md is missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for pkg in $PACKAGES; do
	case $pkg in
	tapd)
		CGO_ENABLED=0 $GO build -ldflags "-s -w" -o "$BIN/tapd" ./cmd/tapd
		CGO_ENABLED=0 $GO build -ldflags "-s -w" -o "$BIN/tapctl" ./cmd/tapctl
		cp packaging/nfpm-tapd.yaml "$work/nfpm-tapd.yaml"
		;;
	kiosk)
		CGO_ENABLED=1 $GO build -ldflags "-s -w" -o "$BIN/kiosk" ./cmd/kiosk
		# Depends: each library the kiosk links, at the least version its
		# symbols need (dpkg-shlibdeps reads the binary and Debian's
		# symbols files), e.g. libc6 (>= 2.34), libfido2-1 (>= 1.12.0); the
		# .rpm gets the same versions under Fedora's names.
		mkdir -p "$work/debian"
		printf 'Source: tapkiosk\n\nPackage: tapkiosk-kiosk\nArchitecture: any\n' >"$work/debian/control"
		shlibs=$(cd "$work" && dpkg-shlibdeps -O "$BIN/kiosk" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
		case "$shlibs" in
		*libc6*libfido2-1* | *libfido2-1*libc6*) ;;
		*) echo "build.sh: dpkg-shlibdeps found no libc6 and libfido2-1 in the kiosk (got: '$shlibs')" >&2; exit 1 ;;
		esac
		deb=$(echo "$shlibs" | sed 's/\([^,][^,]*\)/"\1"/g; s/" /"/g')
		rpm=$(echo "$deb" | sed 's/"libc6 (>= \([^)]*\))"/"glibc >= \1"/; s/"libfido2-1 (>= \([^)]*\))"/"libfido2 >= \1"/')
		sed "s|@SHLIBS_DEB@|$deb|; s|@SHLIBS_RPM@|$rpm|" packaging/nfpm-kiosk.yaml >"$work/nfpm-kiosk.yaml"
		;;
	*) echo "build.sh: unknown package $pkg (tapd, kiosk)" >&2; exit 1 ;;
	esac
	for f in $FORMATS; do
		$GO run "$NFPM" package --config "$work/nfpm-$pkg.yaml" --packager "$f" --target "$OUT/" >/dev/null
	done
done
ls "$OUT"/*.deb "$OUT"/*.rpm 2>/dev/null || true
