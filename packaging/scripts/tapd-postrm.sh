#!/bin/sh
# tapkiosk-tapd postrm: on purge, the user goes; the database in
# /var/lib/tapkiosk stays unless purged by hand (it is the audit trail).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = "purge" ]; then
	userdel tapkiosk >/dev/null 2>&1 || true
	groupdel tapkiosk >/dev/null 2>&1 || true
fi
exit 0
