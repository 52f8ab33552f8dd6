#!/bin/sh
# tapkiosk-kiosk prerm: on removal (dpkg "remove", rpm %preun 0) stop every
# kiosk on every console before its binary goes; getty takes the console
# back when enabled. An upgrade leaves them running the old binary until
# restarted (deploy.md).
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl stop 'tapkiosk-kiosk@*.service'
	fi
	;;
esac
exit 0
