#!/usr/bin/env bash
# Proves the README's two commands work on a machine that has only what the
# README says it assumes: it overlays this machine's root on a tmpfs (this
# machine is not changed), removes in that copy every system package
# `make test` and `make demo` install for themselves, clones this
# repository's HEAD (what is committed) into it, and runs
#   make test && DEMO_EXIT=1 make demo
# in the clone under systemd-nspawn, with this machine's network (apt needs
# the package mirrors). It takes minutes (apt, then the whole test suite).
#   sudo scripts/fresh-machine.sh            # prints the log's path and the result
# Needs root and systemd-nspawn (Debian package systemd-container).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: run as root (it mounts an overlay and runs systemd-nspawn)" >&2; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "fresh-machine: needs systemd-nspawn (apt-get install systemd-container)" >&2; exit 1; }

# What the README's commands install for themselves (scripts/ensure-deps.sh);
# apt also removes what depends on them.
remove=(postgresql postgresql-15 postgresql-client-15 postgresql-common postgresql-client-common
	libfido2-dev gcc gcc-12 libc6-dev tmux curl dpkg-dev rpm systemd-container systemd)

work=$(mktemp -d /tmp/tapkiosk-fresh.XXXXXX)
log=${LOG:-$work.log}
cleanup() {
	umount "$work/t/root" 2>/dev/null || true
	umount "$work/t" 2>/dev/null || true
	rmdir "$work/t" "$work" 2>/dev/null || true
}
trap cleanup EXIT
mkdir -p "$work/t"
mount -t tmpfs -o size=16g tmpfs "$work/t"
mkdir -p "$work/t/up" "$work/t/work" "$work/t/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/t/up,workdir=$work/t/work" "$work/t/root"
root="$work/t/root"

start=$(date +%s)
{
	echo "== removing in the copy: ${remove[*]}"
	chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get purge -y --allow-remove-essential "${remove[@]}"
	for f in /usr/include/stdlib.h /usr/include/fido.h /usr/bin/gcc /usr/bin/tmux /usr/bin/curl /usr/bin/systemd-analyze /usr/bin/systemd-nspawn; do
		[ ! -e "$root$f" ] || { echo "fresh-machine: $f is still there after the removal" >&2; exit 1; }
	done
	git clone --quiet "$repo" "$root/root/tapkiosk"
	echo "== in a clone of $(git -C "$root/root/tapkiosk" log --oneline -1), as the README says: make test, then make demo (DEMO_EXIT=1: no terminal)"
	# --capability=all: the container stands in for a machine's root,
	# which may bring up a network device (the boot test's container's
	# loopback, nested in this one).
	systemd-nspawn -D "$root" --register=no --keep-unit --as-pid2 --capability=all --chdir=/root/tapkiosk \
		--setenv=PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--setenv=HOME=/root --setenv=DEMO_EXIT=1 \
		bash -c 'make test && make demo'
} > "$log" 2>&1 && rc=0 || rc=$?
echo "fresh-machine: exit $rc after $(( $(date +%s) - start )) s; log: $log"
exit $rc
