// Lines of the events file: a whole event becomes what a message needs; anything else
// (cut, garbled, missing a field) is a verdict with the reason, never a throw.

import test from 'ava';
import { parseLine } from '../../src/notify/events.js';
import { slowEvent } from '../../src/monitor/events.js';
import { eventObject } from '../../src/monitor/jsonout.js';
import type { SlowReport } from '../../src/monitor/slowscan.js';
import { parseAddress } from '../../src/shared/ipv4.js';

const lines: Array<[string, string, RegExp | string]> = [
  ['a cut line', '{"event":"scan","source":"198.51.1', /^not JSON \(/],
  ['garbage', 'Dec  2 09:00:00 scanlogd: hello', /^not JSON \(/],
  ['an array', '[1,2]', 'not a JSON object'],
  ['no event', '{"source":"198.51.100.1"}', 'event undefined: "event" is missing or malformed'],
  [
    'a scan without ports',
    '{"event":"scan","source":"198.51.100.1","destinations":["192.0.2.1"],"first":"2026-12-02T09:00:00.000+01:00","last":"2026-12-02T09:00:00.000+01:00","packets":7}',
    'event "scan": "ports" is missing or malformed',
  ],
  ['a bad address', '{"event":"scan_end","source":"example.org"}', 'event "scan_end": "source" is missing or malformed'],
  ['an unknown protocol', '{"event":"scan","protocol":"sctp","source":"198.51.100.1"}', 'event "scan": "protocol" is missing or malformed'],
  [
    'a suppressed event without state',
    '{"event":"suppressed","time":"2026-12-02T09:00:00.000+01:00"}',
    'event "suppressed": "state" is missing or malformed',
  ],
];

for (const [what, line, why] of lines) {
  test(`a line that is not a whole event is a verdict, not a throw: ${what}`, (t) => {
    const v = parseLine(line);
    t.is(v.kind, 'bad');
    if (v.kind !== 'bad') return;
    if (typeof why === 'string') t.is(v.why, why);
    else t.regex(v.why, why);
  });
}

test('counters and unknown kinds are skipped; a whole scan line is a note', (t) => {
  t.deepEqual(parseLine('{"event":"counters","time":"2026-12-02T09:00:00.000+01:00","packets_seen":1}'), { kind: 'skip' });
  t.deepEqual(parseLine('{"event":"future_kind"}'), { kind: 'skip' });
  const v = parseLine(
    '{"event":"scan","time":"2026-12-02T09:15:03.156+01:00","source":"198.18.0.2","source_port":40000,"destinations":["198.18.0.3","198.18.0.1"],"destinations_truncated":false,"ports":[23,25,21,80,22,53,111],"flags":"fSrpauxy","flags_or":2,"flags_and":2,"tos":0,"ttl":null,"packets":13,"first":"2026-12-02T09:15:03.120+01:00","last":"2026-12-02T09:15:03.156+01:00","syslog":"logged"}',
  );
  t.deepEqual(v, {
    kind: 'note',
    note: {
      event: 'scan',
      protocol: 'tcp',
      source: '198.18.0.2',
      destinations: ['198.18.0.3', '198.18.0.1'],
      ports: [23, 25, 21, 80, 22, 53, 111],
      first: '2026-12-02T09:15:03.120+01:00',
      last: '2026-12-02T09:15:03.156+01:00',
      packets: 13,
    },
  });
});

test('an IPv6 UDP scan (--ipv6 --udp) is a note with its protocol', (t) => {
  const v = parseLine(
    '{"event":"scan","time":"2026-12-02T09:15:03.156+01:00","family":"ipv6","protocol":"udp","source":"2001:db8::7","source_port":null,"destinations":["2001:db8::1"],"destinations_truncated":false,"ports":[53,123],"flags":"","flags_or":0,"flags_and":0,"tos":null,"ttl":null,"packets":2,"first":"2026-12-02T09:15:03.120+01:00","last":"2026-12-02T09:15:03.156+01:00","syslog":"logged"}',
  );
  t.deepEqual(v, {
    kind: 'note',
    note: {
      event: 'scan',
      protocol: 'udp',
      source: '2001:db8::7',
      destinations: ['2001:db8::1'],
      ports: [53, 123],
      first: '2026-12-02T09:15:03.120+01:00',
      last: '2026-12-02T09:15:03.156+01:00',
      packets: 2,
    },
  });
});

/** The JSON line the daemon writes for a second-stage report (--slow-scans). */
function slowLine(kind: 'slow-scan' | 'sweep'): string {
  const at = Date.UTC(2026, 11, 2, 9, 0, 0);
  const failed = [1, 3, 4].map((n) => ({
    daddr: parseAddress(`198.18.0.${n}`),
    port: kind === 'sweep' ? 22 : 100 + n,
    protocol: 'tcp' as const,
  }));
  const report: SlowReport = {
    kind,
    saddr: parseAddress('198.18.0.2'),
    family: 'ipv4',
    failed,
    failures: 7,
    successes: 1,
    port: 22,
    protocol: 'tcp',
    hosts: 5,
    first: at,
    last: at + 25 * 60_000,
    time: 0,
  };
  return JSON.stringify(eventObject(slowEvent(report, 'logged', at + 25 * 60_000)));
}

test('slow_scan and sweep events (--slow-scans), as the daemon writes them, are notes', (t) => {
  const scan = parseLine(slowLine('slow-scan'));
  t.is(scan.kind, 'note');
  if (scan.kind !== 'note') return;
  t.like(scan.note, { event: 'slow_scan', protocols: ['tcp'], source: '198.18.0.2', ports: [101, 103, 104], count: 7 });
  t.deepEqual((scan.note as { destinations: string[] }).destinations, ['198.18.0.1', '198.18.0.3', '198.18.0.4']);
  const sweep = parseLine(slowLine('sweep'));
  t.is(sweep.kind, 'note');
  if (sweep.kind !== 'note') return;
  t.like(sweep.note, { event: 'sweep', protocols: ['tcp'], source: '198.18.0.2', ports: [22], count: 5 });
  t.deepEqual(parseLine('{"event":"sweep","source":"198.18.0.2"}'), {
    kind: 'bad',
    why: 'event "sweep": "protocol" is missing or malformed',
  });
});
