#!/bin/sh
# tapkiosk-kiosk postrm: on purge, the user goes.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = "purge" ]; then
	userdel tapkiosk-kiosk >/dev/null 2>&1 || true
	groupdel tapkiosk-kiosk >/dev/null 2>&1 || true
fi
exit 0
