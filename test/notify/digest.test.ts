// The message text, rule by rule: a scan and its end as one line, ranges, the ten-line
// limit, the flood sentence, and what was given up.

import test from 'ava';
import { rangesText, renderMessage, when } from '../../src/notify/digest.js';
import type { Note } from '../../src/notify/events.js';

const NOW = new Date(2026, 11, 2, 9, 30, 0);
const T = (clock: string, date = '2026-12-02'): string => `${date}T${clock}.000+01:00`;

const scan = (source: string, ports: number[], first: string, packets = ports.length): Note => ({
  event: 'scan',
  protocol: 'tcp',
  source,
  destinations: ['192.0.2.10'],
  ports,
  first,
  last: first,
  packets,
});

test('ports as sorted ranges; times as the clock today, with the date on another day', (t) => {
  t.is(rangesText([80, 22, 23, 21, 443, 25, 24]), '21-25, 80, 443');
  t.is(rangesText([7]), '7');
  t.is(rangesText([]), '');
  t.is(when(T('09:15:03'), '2026-12-02'), '09:15:03');
  t.is(when(T('23:59:59', '2026-12-01'), '2026-12-02'), '2026-12-01 23:59:59');
});

test('one scan and its end: one line with how far it went', (t) => {
  const notes: Note[] = [
    scan('198.51.100.7', [1, 2, 3, 4, 5, 6, 7], T('09:15:03'), 7),
    {
      event: 'scan_end',
      protocol: 'tcp',
      source: '198.51.100.7',
      destinations: ['192.0.2.10', '192.0.2.11'],
      portRanges: '1-100',
      distinctPorts: 100,
      packets: 200,
      first: T('09:15:03'),
      last: T('09:15:04'),
    },
  ];
  t.deepEqual(renderMessage(notes, 'web1', NOW), {
    title: 'web1: port scan from 198.51.100.7',
    text: '198.51.100.7 → 192.0.2.10 and 1 more: 100 ports (1-100), 200 packets, 09:15:03-09:15:04\n(2 events from scanlogd on web1)',
    events: 2,
    sources: 1,
  });
});

test('a long port list is cut at a comma with "…"', (t) => {
  const ports = Array.from({ length: 40 }, (_, i) => 1000 + i * 2);
  const line = renderMessage([scan('198.51.100.8', ports, T('09:00:00'))], 'h', NOW).text.split('\n')[0] as string;
  t.regex(line, /^198\.51\.100\.8 → 192\.0\.2\.10: 40 ports \(1000, 1002, .*, …\), 40 packets, at 09:00:00$/);
  t.true((/\(([^)]*)\)/.exec(line)?.[1]?.length as number) <= 48);
});

test('many sources: ten by name, the rest counted; the flood as one sentence', (t) => {
  const notes: Note[] = Array.from({ length: 12 }, (_, i) => scan(`198.51.100.${i + 1}`, [1, 2, 3, 4, 5, 6, 7], T('09:00:00')));
  notes.push(scan('198.51.100.1', [8, 9, 10, 11, 12, 13, 14], T('09:00:10')));
  notes.push({ event: 'suppressed', state: 'start', time: T('09:00:01'), dropped: null });
  notes.push({ event: 'suppressed', state: 'end', time: T('09:00:30'), dropped: 8 });
  const m = renderMessage(notes, 'h', NOW);
  const lines = m.text.split('\n');
  t.is(m.title, 'h: 13 port scans from 12 sources');
  t.is(lines.length, 13);
  t.is(lines[0], '198.51.100.1 → 192.0.2.10: 14 ports (1-14), 14 packets, 2 scans, 09:00:00-09:00:10');
  t.is(lines[10], '… and 2 more sources (2 scans)');
  t.is(lines[11], 'Flood of scans from 09:00:01 to 09:00:30: 8 scans were not logged to syslog.');
  t.is(lines[12], '(15 events from scanlogd on h)');
});

test('the flood alone: its start, or its end, each as a sentence of its own', (t) => {
  const start = renderMessage([{ event: 'suppressed', state: 'start', time: T('09:00:01'), dropped: null }], 'h', NOW);
  t.is(start.title, 'h: flood of port scans');
  t.is(start.text.split('\n')[0], 'A flood of scans began at 09:00:01: scanlogd logs no more lines until 20 s pass without a scan.');
  const end = renderMessage([{ event: 'suppressed', state: 'end', time: T('09:00:30'), dropped: 1 }], 'h', NOW);
  t.is(end.text.split('\n')[0], 'A flood of scans ended at 09:00:30: 1 scan was not logged to syslog.');
});

test('events given up earlier are said in the next message', (t) => {
  const m = renderMessage([scan('198.51.100.9', [1, 2, 3, 4, 5, 6, 7], T('09:00:00'))], 'h', NOW, {
    events: 12,
    why: 'not delivered within 86400 s: HTTP 500',
  });
  t.is(m.text.split('\n')[1], '12 earlier events could not be delivered here and were dropped (not delivered within 86400 s: HTTP 500).');
});

test("UDP scans (--udp) say so, apart from the same source's TCP scan; IPv6 sources as the daemon writes them", (t) => {
  const m = renderMessage(
    [
      {
        event: 'scan',
        protocol: 'udp',
        source: '2001:db8::7',
        destinations: ['2001:db8::1'],
        ports: [53, 123, 161, 500, 514, 520, 1900],
        first: T('09:00:00'),
        last: T('09:00:00'),
        packets: 7,
      },
      {
        event: 'scan',
        protocol: 'tcp',
        source: '2001:db8::7',
        destinations: ['2001:db8::1'],
        ports: [1, 2, 3, 4, 5, 6, 7],
        first: T('09:00:01'),
        last: T('09:00:01'),
        packets: 7,
      },
    ],
    'h',
    NOW,
  );
  t.is(m.title, 'h: 2 port scans from 2 sources');
  t.deepEqual(m.text.split('\n').slice(0, 2), [
    '2001:db8::7 → 2001:db8::1: 7 UDP ports (53, 123, 161, 500, 514, 520, 1900), 7 packets, at 09:00:00',
    '2001:db8::7 → 2001:db8::1: 7 ports (1-7), 7 packets, at 09:00:01',
  ]);
});

const slowScan: Note = {
  event: 'slow_scan',
  protocols: ['tcp'],
  source: '198.51.100.9',
  destinations: ['192.0.2.10'],
  ports: [23, 21, 22, 25, 80, 8080],
  count: 6,
  first: T('08:40:00'),
  last: T('09:05:00'),
};
const sweep: Note = {
  event: 'sweep',
  protocols: ['udp'],
  source: '198.51.100.10',
  destinations: ['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14'],
  ports: [161],
  count: 5,
  first: T('09:10:00'),
  last: T('09:10:04'),
};

test('a slow scan and a sweep (--slow-scans) are named as such, each on a line of its own', (t) => {
  const one = renderMessage([slowScan], 'h', NOW);
  t.is(one.title, 'h: slow port scan from 198.51.100.9');
  t.is(one.text.split('\n')[0], '198.51.100.9 → 192.0.2.10: slow scan of 6 closed ports (21-23, 25, 80, 8080), 08:40:00-09:05:00');
  t.is(renderMessage([sweep], 'h', NOW).title, 'h: port sweep from 198.51.100.10');
  const both = renderMessage([scan('198.51.100.9', [1, 2, 3, 4, 5, 6, 7], T('09:15:03')), slowScan, sweep], 'h', NOW);
  t.is(both.title, 'h: 3 port scans and sweeps from 2 sources');
  t.is(both.sources, 2);
  t.deepEqual(both.text.split('\n').slice(1, 3), [
    '198.51.100.9 → 192.0.2.10: slow scan of 6 closed ports (21-23, 25, 80, 8080), 08:40:00-09:05:00',
    '198.51.100.10 swept UDP port 161 on 5 hosts (192.0.2.10 and 4 more), 09:10:00-09:10:04',
  ]);
  t.is(renderMessage([slowScan, sweep], 'h', NOW).title, 'h: 2 slow scans and sweeps from 2 sources');
});
