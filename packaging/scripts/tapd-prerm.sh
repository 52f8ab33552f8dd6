#!/bin/sh
# tapkiosk-tapd prerm: stop tapd before its files go (dpkg "remove", rpm
# %preun 0). An upgrade leaves it running: after one, run `tapd init` and
# then restart it (deploy.md).
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl stop tapd.service
	fi
	;;
esac
exit 0
