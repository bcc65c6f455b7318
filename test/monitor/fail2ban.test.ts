// The packaged fail2ban filter, through the real fail2ban-regex, on second-stage lines
// the formatter writes for IPv6 sources and at the edges of the line form (cut lists,
// several destinations, UDP), and on the stage's other lines, which name no one to ban.

import test from 'ava';
import { parseAddress6 } from '../../src/shared/ipv6.js';
import { formatAddress6 } from '../../src/shared/ipv6.js';
import { slowMessage } from '../../src/monitor/format.js';
import { refusalMessage, type SlowReport } from '../../src/monitor/slowscan.js';
import { SLOW_FLOOD_MESSAGE } from '../../src/monitor/limiter.js';
import { fail2banSources } from '../helpers/fail2ban.js';

const FIRST = Date.UTC(2026, 11, 7, 0, 0, 5);

function report(kind: SlowReport['kind'], saddr: string, daddrs: string[], ports: number[], protocol: 'tcp' | 'udp'): SlowReport {
  const failed = daddrs.flatMap((d) => ports.map((port) => ({ daddr: parseAddress6(d), port, protocol })));
  return {
    kind,
    saddr: parseAddress6(saddr),
    family: 'ipv6',
    failed,
    failures: failed.length,
    successes: 0,
    port: ports[0]!,
    protocol,
    hosts: daddrs.length,
    first: FIRST,
    last: FIRST + 41 * 60_000,
    time: 0,
  };
}

const datagram = (text: string): string => `<137>Dec  7 00:41:05 scanlogd[4242]: ${text}`;

test('IPv6 slow-scan and sweep lines give their source to fail2ban; the stage lines that name no source give none', (t) => {
  const lines = [
    slowMessage(report('slow-scan', 'fd00:5::2', ['fd00:5::1'], [1, 7, 9, 13, 19, 21], 'tcp'), 120),
    // Cut to 120 characters: the port list ends in "...".
    slowMessage(report('slow-scan', '2001:db8:77::9', ['fd00:5::1', 'fd00:5::3'], [10001, 10002, 10003, 10004, 10005, 10006], 'udp'), 120),
    slowMessage(
      report('sweep', 'fd00:6::a', ['fd00:6::100', 'fd00:6::101', 'fd00:6::102', 'fd00:6::103', 'fd00:6::104', 'fd00:6::105'], [22], 'tcp'),
      120,
    ),
    SLOW_FLOOD_MESSAGE,
    refusalMessage(30, 4096),
  ];
  t.regex(lines[1]!, /\.\.\., UDP @/);
  t.regex(lines[1]!, / and others,/);
  t.regex(lines[2]!, /\.\.\., TCP @/);
  t.deepEqual(
    fail2banSources(t, lines.map(datagram)),
    ['fd00:5::2', '2001:db8:77::9', 'fd00:6::a'].map((a) => formatAddress6(parseAddress6(a))),
  );
});
