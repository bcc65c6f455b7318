// How the daemon and scanlogd-notify address syslog: facility daemon, the three levels
// they use, and the daemon's ident, as syslog(3) numbers and names them.

/** LOG_DAEMON (3 << 3): the facility of every message. */
const LOG_DAEMON = 3 << 3;

/** The scans and the flood notice, as scanlogd logs them (LOG_ALERT). */
export const DAEMON_ALERT = LOG_DAEMON | 1;
/** A process's own faults, and failures it reports (LOG_ERR). */
export const DAEMON_ERR = LOG_DAEMON | 3;
/** The daemon's start and stop, and what a SIGHUP changes (LOG_NOTICE): no scan, so no filter of scans matches them. */
export const DAEMON_NOTICE = LOG_DAEMON | 5;
/** Counters, structured events, and reports that are not failures (LOG_INFO). */
export const DAEMON_INFO = LOG_DAEMON | 6;

/** The daemon's ident: `scanlogd:` before each message, no pid, as scanlogd 2.2.8. */
export const SYSLOG_IDENT = 'scanlogd';
