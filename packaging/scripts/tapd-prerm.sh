#!/bin/sh
# tapkiosk-tapd prerm: stop tapd before its files go.
set -e
if [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
	systemctl stop tapd.service >/dev/null 2>&1 || true
fi
exit 0
