#!/bin/sh
# /usr/sbin/scanlogd: the daemon lives in /usr/lib/scanlogd and runs on the system's
# Node.js (20 or later; the native addons are Node-API only).
# Small young-generation semi-spaces keep the heap near its starting size under
# floods; the daemon gives the processes it starts the same option.
exec /usr/bin/node --max-semi-space-size=1 /usr/lib/scanlogd/bin/scanlogd.js "$@"
