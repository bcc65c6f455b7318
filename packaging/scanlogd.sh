#!/bin/sh
# /usr/sbin/scanlogd: the daemon lives in /usr/lib/scanlogd and runs on the system's
# Node.js, the major version its native addons were built for.
exec /usr/bin/node /usr/lib/scanlogd/bin/scanlogd.js "$@"
