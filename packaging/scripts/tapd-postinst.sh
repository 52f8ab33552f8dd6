#!/bin/sh
# tapkiosk-tapd postinst: the tapkiosk system user and group that tapd runs
# as, and the root-only folder its secrets live in.
set -e
if ! getent group tapkiosk >/dev/null; then
	groupadd --system tapkiosk
fi
if ! getent passwd tapkiosk >/dev/null; then
	useradd --system --gid tapkiosk --home-dir /var/lib/tapkiosk --no-create-home \
		--shell /usr/sbin/nologin --comment "tapkiosk recovery service" tapkiosk
fi
install -d -m 0700 -o root -g root /etc/tapkiosk/credentials
chown root:tapkiosk /etc/tapkiosk/tapd.conf
chmod 0640 /etc/tapkiosk/tapd.conf
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
