#!/bin/sh
# tapkiosk-tapd postinst: the tapkiosk system user and group that tapd runs
# as, its state folder (so `tapd init` can run before the first start), and
# the root-only folder its secrets live in. One script for both formats:
# dpkg calls it "configure [old version]", rpm %post 1 (install) or 2
# (upgrade).
set -e
case "$1" in
configure | 1 | 2) ;;
*) exit 0 ;;
esac
if ! getent group tapkiosk >/dev/null; then
	groupadd --system tapkiosk
fi
if ! getent passwd tapkiosk >/dev/null; then
	useradd --system --gid tapkiosk --home-dir /var/lib/tapkiosk --no-create-home \
		--shell /usr/sbin/nologin --comment "tapkiosk recovery service" tapkiosk
fi
install -d -m 0700 -o tapkiosk -g tapkiosk /var/lib/tapkiosk
install -d -m 0700 -o root -g root /etc/tapkiosk/credentials
chown root:tapkiosk /etc/tapkiosk/tapd.conf
chmod 0640 /etc/tapkiosk/tapd.conf
# deb-systemd-helper records the links `systemctl enable tapd` makes, so
# that purge removes them (Debian's dh_installsystemd does the same for a
# unit it does not enable).
if [ "$1" = configure ] && command -v deb-systemd-helper >/dev/null; then
	deb-systemd-helper unmask tapd.service >/dev/null
	deb-systemd-helper update-state tapd.service
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
exit 0
