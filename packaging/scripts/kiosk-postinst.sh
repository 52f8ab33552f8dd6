#!/bin/sh
# tapkiosk-kiosk postinst: the unprivileged tapkiosk-kiosk user the kiosk
# runs as; its group gets the FIDO keys (70-tapkiosk-fido.rules). dpkg
# calls it "configure [old version]", rpm %post 1 (install) or 2 (upgrade).
set -e
case "$1" in
configure | 1 | 2) ;;
*) exit 0 ;;
esac
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
	udevadm control --reload-rules || echo "tapkiosk-kiosk: udevadm control --reload-rules failed; the FIDO rule applies after a reboot" >&2
	udevadm trigger --subsystem-match=hidraw || echo "tapkiosk-kiosk: udevadm trigger failed; replug the keys" >&2
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
exit 0
