#!/bin/sh
# tapkiosk-kiosk postinst: the unprivileged tapkiosk-kiosk user the kiosk
# runs as; its group gets the FIDO keys (70-tapkiosk-fido.rules).
set -e
if ! getent group tapkiosk-kiosk >/dev/null; then
	groupadd --system tapkiosk-kiosk
fi
if ! getent passwd tapkiosk-kiosk >/dev/null; then
	useradd --system --gid tapkiosk-kiosk --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin --comment "tapkiosk kiosk" tapkiosk-kiosk
fi
chown root:tapkiosk-kiosk /etc/tapkiosk/kiosk.conf
chmod 0640 /etc/tapkiosk/kiosk.conf
if command -v udevadm >/dev/null 2>&1 && [ -d /run/udev ]; then
	udevadm control --reload-rules >/dev/null 2>&1 || true
	udevadm trigger --subsystem-match=hidraw >/dev/null 2>&1 || true
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
