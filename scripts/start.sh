#!/bin/sh
# Quick start as root: make sure the scanlogd account and its chroot directory exist,
# then run the daemon in the foreground with every detection also on the terminal,
# from a root-owned copy that user scanlogd can read (scripts/stage.sh says why).
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "npm start: run as root (the daemon opens a raw socket and then drops to user scanlogd)" >&2
	exit 1
fi
if ! getent passwd scanlogd >/dev/null; then
	echo "npm start: creating system user scanlogd (no login shell, no home)"
	groupadd --system scanlogd 2>/dev/null || true
	useradd --system --gid scanlogd --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin scanlogd
fi
if [ ! -d /var/empty ]; then
	echo "npm start: creating chroot directory /var/empty (root-owned, mode 0755)"
	install -d -o root -g root -m 0755 /var/empty
fi
own_socket=no
for arg in "$@"; do
	case "$arg" in --syslog-socket | --syslog-socket=*) own_socket=yes ;; esac
done
if [ $own_socket = no ] && [ ! -S /dev/log ]; then
	if command -v rsyslogd >/dev/null 2>&1; then
		echo "npm start: starting rsyslogd for /dev/log"
		rsyslogd
		sleep 1
	else
		echo "npm start: no syslog daemon listens on /dev/log (apt-get install rsyslog);" \
			"lines are shown here and queued for syslog until one does" >&2
	fi
fi
entry=$(sh scripts/stage.sh)
echo "npm start: scanlogd running in the foreground from ${entry%/bin/scanlogd.js}; Ctrl-C stops it"
exec node --max-semi-space-size=1 "$entry" --foreground --stderr "$@"
