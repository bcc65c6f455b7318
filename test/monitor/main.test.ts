// The monitor process's own logic, apart from the running process the integration
// tests start: the stop line, what the start line says is watched, where it finds the
// socket tables, and what a detached start does when syslog cannot be reached.

import test from 'ava';
import { socketTables, stopLine, unreachableSyslog, watchedText } from '../../src/monitor/main.js';
import { MONITOR_SOCKET_TABLES_FD } from '../../src/shared/fds.js';
import { StartupError } from '../../src/shared/errors.js';
import { EXIT_INTERNAL_FAULT } from '../../src/shared/exits.js';
import { VERSION_LINE } from '../../src/shared/version.js';

test('the stop line names the signal of a clean stop, or the exit status of a fault, then the totals', (t) => {
  t.is(stopLine(0, 'SIGTERM', 'packets_seen=3'), `${VERSION_LINE} stopped on SIGTERM; totals: packets_seen=3`);
  t.is(stopLine(0, 'SIGINT', 'packets_seen=3'), `${VERSION_LINE} stopped on SIGINT; totals: packets_seen=3`);
  t.is(
    stopLine(EXIT_INTERNAL_FAULT, undefined, 'packets_seen=0'),
    `${VERSION_LINE} stopped on a fault (exit status 70); totals: packets_seen=0`,
  );
});

const CLASSIC = { interface: null, udp: false, ipv6: false, slowScans: false };

for (const [settings, text] of [
  [CLASSIC, 'raw socket (after the host firewall), TCP over IPv4'],
  [{ ...CLASSIC, udp: true }, 'raw socket (after the host firewall), TCP and UDP over IPv4'],
  [{ ...CLASSIC, ipv6: true }, 'raw socket (after the host firewall), TCP over IPv4 and IPv6'],
  [{ ...CLASSIC, interface: 'eth0', slowScans: true }, 'libpcap on eth0, TCP over IPv4, slow scans'],
] as const) {
  test(`the start line says what is watched: ${text}`, (t) => {
    t.is(watchedText(settings), text);
  });
}

test('the socket tables are taken at consecutive descriptors from MONITOR_SOCKET_TABLES_FD, in the order named', (t) => {
  const tables = socketTables({ slowScans: true, socketTables: 'tcp,udp,tcp6' });
  t.deepEqual(tables?.tables, [
    { table: 'tcp', fd: MONITOR_SOCKET_TABLES_FD },
    { table: 'udp', fd: MONITOR_SOCKET_TABLES_FD + 1 },
    { table: 'tcp6', fd: MONITOR_SOCKET_TABLES_FD + 2 },
  ]);
  t.is(socketTables({ slowScans: false, socketTables: 'tcp' }), null, 'without --slow-scans none is read');
  t.is(socketTables({ slowScans: true, socketTables: null }), null);
});

test('a detached start whose syslog cannot be reached is refused without --json, and warned of with it', (t) => {
  t.is(unreachableSyslog({ syslogSocket: '/dev/log', json: null }, null), null, 'reachable: nothing to say');
  const refused = t.throws(() => unreachableSyslog({ syslogSocket: '/run/x.sock', json: null }, 'ENOENT'), { instanceOf: StartupError });
  t.is(refused?.message, "syslog socket /run/x.sock: No such file or directory; the daemon's lines would go nowhere");
  t.is(
    unreachableSyslog({ syslogSocket: '/run/x.sock', json: '/var/log/scanlogd/events.json' }, 'ECONNREFUSED'),
    'warning scanlogd: syslog socket /run/x.sock: Connection refused; lines wait for it, scans go to /var/log/scanlogd/events.json meanwhile',
  );
});
