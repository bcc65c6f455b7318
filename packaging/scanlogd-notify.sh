#!/bin/sh
# /usr/sbin/scanlogd-notify: the notifier lives beside the daemon in /usr/lib/scanlogd.
exec /usr/bin/node /usr/lib/scanlogd/bin/scanlogd-notify "$@"
