// The message text, rule by rule, from events the daemon's writer made: a scan and its
// end as one line, ranges clipped between ranges with the rest counted, the ten-line
// limit, the flood sentence, what was given up, times across a change of offset, and
// no control character from any field.

import test from 'ava';
import { mergeRanges, portListText, rangesText, renderMessage, when } from '../../src/notify/digest.js';
import type { Note } from '../../src/notify/events.js';
import type { ScanEndEvent } from '../../src/shared/events.js';
import { eventsOfScan, noteOf, scanEndEvent, scanEvent, suppressedEvent } from '../helpers/events.js';

const NOW = new Date(2026, 11, 2, 9, 30, 0);
/** A local time of 2 December 2026 (or of `day`). */
const at = (h: number, m: number, s: number, day = 2): number => new Date(2026, 11, day, h, m, s).getTime();

const scan = (source: string, ports: number[], firstMs: number, packets = ports.length): Note =>
  noteOf(scanEvent(source, ports, firstMs, { packets: Math.max(2, packets), destinations: ['192.0.2.10'] }));

test('ports as sorted ranges; times as the clock today, with the date on another day', (t) => {
  t.is(rangesText([80, 22, 23, 21, 443, 25, 24]), '21-25, 80, 443');
  t.is(rangesText([7]), '7');
  t.is(rangesText([]), '');
  t.is(when({ text: '2026-12-02T09:15:03.000+01:00', ms: 0 }, '2026-12-02'), '09:15:03');
  t.is(when({ text: '2026-12-01T23:59:59.000+01:00', ms: 0 }, '2026-12-02'), '2026-12-01 23:59:59');
});

test('one scan and its end: one line with how far it went', (t) => {
  const notes = [
    scan('198.51.100.7', [1, 2, 3, 4, 5, 6, 7], at(9, 15, 3), 7),
    noteOf(
      scanEndEvent('198.51.100.7', '1-100', 100, at(9, 15, 3), {
        destinations: ['192.0.2.10', '192.0.2.11'],
        packets: 200,
        last: at(9, 15, 4),
      }),
    ),
  ];
  t.deepEqual(renderMessage(notes, 'web1', NOW), {
    title: 'web1: port scan from 198.51.100.7',
    text: '198.51.100.7 → 192.0.2.10 and 1 more: 100 ports (1-100), 200 packets, 09:15:03-09:15:04\n(2 events from scanlogd on web1)',
    events: 2,
    sources: 1,
  });
});

test('merging ranges joins overlapping and adjacent ones, in one pass after the sort', (t) => {
  t.deepEqual(
    mergeRanges([
      { low: 80, high: 80 },
      { low: 1, high: 10 },
      { low: 11, high: 20 },
      { low: 5, high: 7 },
      { low: 443, high: 443 },
      { low: 79, high: 81 },
    ]),
    [
      { low: 1, high: 20 },
      { low: 79, high: 81 },
      { low: 443, high: 443 },
    ],
  );
});

test('a long port list is cut between two ranges, never inside a number, and says how many ports are left out', (t) => {
  // The list: cut inside "5432" before, shown as the port 543 that nobody scanned.
  const ranges = '21-23,25,53,80,110,135,139,143,443,445,993,995,1433,1521,3306,5432,8000-8999';
  const distinct = 3 + 15 + 1000;
  const line = renderMessage([noteOf(scanEndEvent('198.51.100.8', ranges, distinct, at(9, 0, 0)))], 'h', NOW).text.split('\n')[0] as string;
  const list = /\(([^)]*)\)/.exec(line)?.[1] as string;
  t.true(list.length <= 48, list);
  t.is(list, '21-23, 25, 53, 80, 110, 135, 139 and 1009 more');
  // Every number shown is a whole port of the daemon's list.
  const shown = list.replace(/ and \d+ more$/, '').split(', ');
  for (const part of shown) t.true(ranges.split(',').includes(part), part);
  t.regex(line, /^198\.51\.100\.8 → 198\.18\.0\.1: 1018 ports \(/);
});

test('the clip keeps the first range whatever its length, and adds no count when nothing is left out', (t) => {
  t.is(portListText([{ low: 10000, high: 65535 }], 55536, false, 5), '10000-65535');
  t.is(portListText(mergeRanges([{ low: 1, high: 1 }]), 1, false), '1');
  t.is(
    portListText(
      Array.from({ length: 20 }, (_, i) => ({ low: i * 10, high: i * 10 })),
      20,
      false,
    ),
    '0, 10, 20, 30, 40, 50, 60, 70, 80 and 11 more',
  );
});

test("real range lists from the daemon's pipeline: of more than 64 ranges the daemon lists 64, the message counts all", (t) => {
  // Every third port from 1000: 100 ranges of one port, of which the daemon writes 64.
  const ports = Array.from({ length: 100 }, (_, i) => 1000 + 3 * i);
  const events = eventsOfScan('198.51.100.9', ports, at(9, 0, 0));
  const end = events.find((e): e is ScanEndEvent => e.event === 'scan_end');
  t.is(end?.port_ranges_truncated, true, 'the daemon listed only the first ranges');
  t.is(end?.distinct_ports, 100);
  const text = renderMessage(events.map(noteOf), 'h', NOW).text;
  t.regex(text, /^198\.51\.100\.9 → 198\.18\.0\.1: 100 ports \(1000, 1003, 1006, 1009, 1012, 1015 and 94 more\), /);
  const list = /\(([^)]*)\)/.exec(text)?.[1] as string;
  t.true(list.length <= 48, list);
});

test("real range lists from the daemon's pipeline: a scan of a few long ranges, whole", (t) => {
  const ports = [...Array.from({ length: 100 }, (_, i) => i + 1), 443, ...Array.from({ length: 1000 }, (_, i) => 8000 + i)];
  const events = eventsOfScan('198.51.100.10', ports, at(9, 0, 0));
  const end = events.find((e): e is ScanEndEvent => e.event === 'scan_end');
  t.is(end?.port_ranges, '1-100,443,8000-8999');
  t.regex(renderMessage(events.map(noteOf), 'h', NOW).text, /: 1101 ports \(1-100, 443, 8000-8999\), /);
});

test('two scans of one source whose ends left ranges out: the count is a floor, said as "at least"', (t) => {
  const ports = Array.from({ length: 100 }, (_, i) => 1000 + 3 * i);
  const next = Array.from({ length: 80 }, (_, i) => 1001 + 3 * i);
  const events = [...eventsOfScan('198.51.100.11', ports, at(9, 0, 0)), ...eventsOfScan('198.51.100.11', next, at(9, 1, 0))];
  t.is(events.filter((e) => e.event === 'scan_end' && e.port_ranges_truncated).length, 2);
  t.regex(
    renderMessage(events.map(noteOf), 'h', NOW).text,
    // 64 ranges of each end are known, 128 ports; the scans probed 180, which no event lists.
    /^198\.51\.100\.11 → 198\.18\.0\.1: at least 128 ports \(1000-1001, 1003-1004 and at least 124 more\), 180 packets, 2 scans, /,
  );
});

test('many sources: ten by name, the rest counted; the flood as one sentence', (t) => {
  const notes: Note[] = Array.from({ length: 12 }, (_, i) => scan(`198.51.100.${i + 1}`, [1, 2, 3, 4, 5, 6, 7], at(9, 0, 0)));
  notes.push(scan('198.51.100.1', [8, 9, 10, 11, 12, 13, 14], at(9, 0, 10)));
  notes.push(noteOf(suppressedEvent('start', at(9, 0, 1))));
  notes.push(noteOf(suppressedEvent('end', at(9, 0, 30), 8)));
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
  const start = renderMessage([noteOf(suppressedEvent('start', at(9, 0, 1)))], 'h', NOW);
  t.is(start.title, 'h: flood of port scans');
  t.is(start.text.split('\n')[0], 'A flood of scans began at 09:00:01: scanlogd logs no more scan lines until the scans pause.');
  const end = renderMessage([noteOf(suppressedEvent('end', at(9, 0, 30), 1))], 'h', NOW);
  t.is(end.text.split('\n')[0], 'A flood of scans ended at 09:00:30: 1 scan was not logged to syslog.');
});

test('events given up earlier are said in the next message', (t) => {
  const m = renderMessage([scan('198.51.100.9', [1, 2, 3, 4, 5, 6, 7], at(9, 0, 0))], 'h', NOW, {
    events: 12,
    why: 'not delivered within 86400 s; last error: HTTP 500',
  });
  t.is(
    m.text.split('\n')[1],
    '12 earlier events were not delivered here and dropped (not delivered within 86400 s; last error: HTTP 500).',
  );
});

test("UDP scans (--udp) say so, apart from the same source's TCP scan; IPv6 sources as the daemon writes them", (t) => {
  const m = renderMessage(
    [
      noteOf(
        scanEvent('2001:db8::7', [53, 123, 161, 500, 514, 520, 1900], at(9, 0, 0), {
          protocol: 'udp',
          flags: 'fsrpauxy',
          flags_or: 0,
          flags_and: 0,
        }),
      ),
      noteOf(scanEvent('2001:db8::7', [1, 2, 3, 4, 5, 6, 7], at(9, 0, 1))),
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

test('more destinations than the daemon lists: "at least" that many more', (t) => {
  const destinations = Array.from({ length: 16 }, (_, i) => `192.0.2.${i + 1}`);
  const m = renderMessage(
    [noteOf(scanEvent('198.51.100.3', [1, 2], at(9, 0, 0), { destinations, destinations_truncated: true }))],
    'h',
    NOW,
  );
  t.regex(m.text, /^198\.51\.100\.3 → 192\.0\.2\.1 and at least 16 more: 2 ports/);
});

test('first and last by the instant, not the text: across the end of daylight saving time', (t) => {
  // 02:30+02:00 comes before 02:10+01:00 (an hour after 01:10 UTC... 00:30 UTC vs 01:10 UTC).
  const early = { text: '2026-10-25T02:30:00.000+02:00', ms: Date.UTC(2026, 9, 25, 0, 30) };
  const late = { text: '2026-10-25T02:10:00.000+01:00', ms: Date.UTC(2026, 9, 25, 1, 10) };
  const note = (first: typeof early): Note => ({
    event: 'scan',
    protocol: 'tcp',
    source: '198.51.100.4',
    destinations: ['192.0.2.1'],
    destinationsTruncated: false,
    ports: [1, 2],
    first,
    last: first,
    packets: 2,
  });
  const m = renderMessage([note(late), note(early)], 'h', new Date(Date.UTC(2026, 9, 25, 2)));
  t.regex(m.text, /, 2 scans, 02:30:00-02:10:00\n/);
});
