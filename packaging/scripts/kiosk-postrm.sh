#!/bin/sh
# tapkiosk-kiosk postrm. Purge (dpkg only: rpm has none) removes the
# kiosk's secrets (/etc/tapkiosk/kiosk.token, /etc/tapkiosk/admin.code),
# its log folder /var/log/tapkiosk-kiosk and the links that enabled it on
# consoles. The tapkiosk-kiosk user and group stay (as in tapd's postrm).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
if [ "$1" = purge ]; then
	# `systemctl enable tapkiosk-kiosk@tty1` links the instance into
	# getty.target.wants; no other package makes links of that name.
	for l in /etc/systemd/system/*.wants/tapkiosk-kiosk@*.service; do
		if [ -L "$l" ]; then rm -f "$l"; fi
	done
	rm -f /etc/tapkiosk/kiosk.token /etc/tapkiosk/admin.code
	rm -rf /var/log/tapkiosk-kiosk
	if [ -d /etc/tapkiosk ]; then rmdir --ignore-fail-on-non-empty /etc/tapkiosk; fi
fi
exit 0
