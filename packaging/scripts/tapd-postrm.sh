#!/bin/sh
# tapkiosk-tapd postrm. Removal keeps the data; purge (dpkg only: rpm has
# none) removes what the package and tapd.service made: the database
# folder /var/lib/tapkiosk, the logs /var/log/tapkiosk, the secrets in
# /etc/tapkiosk/credentials and the enable links. The tapkiosk user and
# group stay, as Debian's own packages keep theirs: a uid freed and given
# to the next system user would own whatever tapkiosk still owns.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
case "$1" in
remove)
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper mask tapd.service >/dev/null
	fi
	;;
purge)
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper purge tapd.service >/dev/null
		deb-systemd-helper unmask tapd.service >/dev/null
	fi
	rm -rf /var/lib/tapkiosk /var/log/tapkiosk /etc/tapkiosk/credentials
	if [ -d /etc/tapkiosk ]; then rmdir --ignore-fail-on-non-empty /etc/tapkiosk; fi
	;;
esac
exit 0
