// Structured events: what the scan event holds beyond the log line, when scan_end comes
// (quiet, entry reused, bucket full, too many scans), the flood events, the fixed
// memory, and that following scans changes nothing in syslog.

process.env.TZ = 'Europe/Berlin';

import test from 'ava';
import { elapsed } from '../../src/shared/clock.js';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import { type Summary4 } from '../../src/shared/record.js';
import { Detector, Ipv4Detector, hashAddress, type Step } from '../../src/monitor/engine.js';
import { ScanTracker, portRanges } from '../../src/monitor/tracker.js';
import { schemaErrors } from '../helpers/event-schema.js';
import { Xorshift32 } from '../shared/xorshift.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { RecordedPipeline } from '../helpers/pipeline.js';
import { TCP6 } from '../../src/monitor/addresses.js';
import { MAX_PORT_RANGES, eventLine, isoLocal, type ScanEndEvent, type ScanEvent, type MonitorEvent } from '../../src/shared/events.js';

const SRC = '198.18.0.2';
const TARGET = parseAddress('198.18.0.1');
const MONO = 5000000;
/** 2024-11-25 16:16:55.250 UTC, 17:16:55.250 in Berlin. */
const WALL_MS = Date.UTC(2024, 10, 25, 16, 16, 55, 250);

function syn(saddr: string, dport: number, time: number, change: Partial<Summary4> = {}): Summary4 {
  return { saddr: parseAddress(saddr), daddr: TARGET, sport: 40000, dport, flags: 0x02, tos: 0, ttl: 64, time: time >>> 0, ...change };
}

interface Run {
  p: RecordedPipeline;
  lines: string[];
  events: MonitorEvent[];
  /** Feeds records as they are captured, monotonic and wall clocks in step. */
  feed(records: Summary4[]): void;
  /** The timer sweep at monotonic time `mono`. */
  sweep(mono: number): void;
}

function pipeline(change: Partial<DetectorParams> = {}): Run {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS, ...change }, { events: true });
  return {
    p,
    lines: p.lines,
    events: p.events,
    feed: (records) => {
      for (const r of records) p.feed(r, r.time, WALL_MS + elapsed(r.time, MONO));
    },
    sweep: (mono) => p.sweep(mono >>> 0, WALL_MS + elapsed(mono, MONO)),
  };
}

/** Every event must be valid against the schema once written as its JSON line. */
function assertValid(t: { deepEqual(a: unknown, b: unknown, m?: string): void }, events: MonitorEvent[]): void {
  for (const e of events) {
    const line = eventLine(e);
    t.deepEqual(schemaErrors(JSON.parse(line)), [], line);
  }
}

test('isoLocal: local time with milliseconds and the zone offset', (t) => {
  t.is(isoLocal(WALL_MS), '2024-11-25T17:16:55.250+01:00');
  t.is(isoLocal(Date.UTC(2024, 6, 1, 0, 0, 0, 5)), '2024-07-01T02:00:00.005+02:00');
});

test('a scan event holds every port in order, every destination, the packet count and both times', (t) => {
  const r = pipeline();
  const ports = [22, 80, 23, 53, 21, 25, 443];
  // Alternating destinations and one repeated port: the line says "and others".
  const records = [
    syn(SRC, 22, MONO),
    syn(SRC, 22, MONO + 5),
    ...ports.slice(1).map((port, i) => syn(SRC, port, MONO + 10 * (i + 1), { daddr: TARGET + (i % 3) })),
  ];
  r.feed(records);
  t.deepEqual(r.lines, [
    '198.18.0.2:40000 to 198.18.0.1 and others, ports 22, 80, 23, 53, 21, 25, ..., fSrpauxy, TOS 00, TTL 64 @17:16:55',
  ]);
  t.is(r.events.length, 1);
  const e = r.events[0] as ScanEvent;
  t.deepEqual(JSON.parse(eventLine(e)), {
    event: 'scan',
    family: 'ipv4',
    protocol: 'tcp',
    time: '2024-11-25T17:16:55.310+01:00',
    source: SRC,
    source_port: 40000,
    destinations: ['198.18.0.1', '198.18.0.2', '198.18.0.3'],
    destinations_truncated: false,
    ports,
    flags: 'fSrpauxy',
    flags_or: 2,
    flags_and: 2,
    tos: 0,
    ttl: 64,
    packets: 8,
    first: '2024-11-25T17:16:55.250+01:00',
    last: '2024-11-25T17:16:55.310+01:00',
    syslog: 'logged',
  });
  assertValid(t, r.events);
});

test('a scan event gives null for a source port, TOS and TTL that changed, and caps destinations at 16', (t) => {
  const r = pipeline();
  const records = Array.from({ length: 21 }, (_, i) =>
    syn(SRC, 2000 + i, MONO + i, { daddr: TARGET + i, sport: 1000 + (i % 2), tos: i % 2, ttl: 30 + i }),
  );
  r.feed(records);
  const e = r.events[0] as ScanEvent;
  t.is(r.events.length, 1);
  t.is(e.source_port, null);
  t.is(e.tos, null);
  t.is(e.ttl, null);
  // 21 high ports of weight 1 make the threshold.
  t.is(e.ports.length, 21);
  t.is(e.destinations.length, 16);
  t.true(e.destinations_truncated);
  assertValid(t, r.events);
});

test('scan_end after the delay: the timer sweep reports distinct ports, ranges, packets and duration', (t) => {
  const r = pipeline();
  // Ports 1-1000 then 3389, each probed twice (a retry), 2 ms apart.
  const ports = [...Array.from({ length: 1000 }, (_, i) => i + 1), 3389];
  const records = [...ports, ...ports].map((port, i) => syn(SRC, port, MONO + 2 * i));
  r.feed(records);
  const lastTime = MONO + 2 * (records.length - 1);
  t.is(r.events.length, 1);
  r.sweep(lastTime + 3000); // exactly the delay: still the same scan
  t.is(r.events.length, 1);
  r.sweep(lastTime + 3001);
  t.is(r.events.length, 2);
  const end = r.events[1] as ScanEndEvent;
  t.like(end, {
    event: 'scan_end',
    family: 'ipv4',
    protocol: 'tcp',
    source: SRC,
    reason: 'quiet',
    distinct_ports: 1001,
    port_ranges: '1-1000,3389',
    port_ranges_truncated: false,
    packets: 2002,
    duration_ms: 2 * 2001,
    destinations: ['198.18.0.1'],
    destinations_truncated: false,
  });
  t.is(end.first, WALL_MS);
  t.is(end.last, WALL_MS + 2 * 2001);
  r.sweep(lastTime + 10000);
  t.is(r.events.length, 2, 'a scan ends once');
  // The log line did not change with the tracking.
  t.deepEqual(r.lines, ['198.18.0.2:40000 to 198.18.0.1 ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 64 @17:16:55']);
  assertValid(t, r.events);
});

test('scan_end when the source comes back after the delay before any sweep: reason quiet, then a new scan', (t) => {
  const r = pipeline();
  r.feed(Array.from({ length: 8 }, (_, i) => syn(SRC, 20 + i, MONO + i)));
  r.feed(Array.from({ length: 8 }, (_, i) => syn(SRC, 100 + i, MONO + 5000 + i)));
  t.deepEqual(
    r.events.map((e) => `${e.event}${e.event === 'scan_end' ? ` ${e.reason} ${e.distinct_ports} ${e.port_ranges}` : ''}`),
    ['scan', 'scan_end quiet 8 20-27', 'scan'],
  );
  t.is(r.lines.length, 2);
  assertValid(t, r.events);
});

test('scan_end when the table entry is reused by a new source', (t) => {
  const r = pipeline({ listSize: 2 });
  r.feed(Array.from({ length: 9 }, (_, i) => syn(SRC, 20 + i, MONO + i)));
  r.feed([syn('198.18.0.7', 80, MONO + 20)]);
  t.is(r.events.length, 1, 'one free slot left: no reuse yet');
  r.feed([syn('198.18.0.8', 80, MONO + 21)]);
  t.is(r.events.length, 2);
  t.like(r.events[1], { event: 'scan_end', source: SRC, reason: 'entry-reused', distinct_ports: 9, port_ranges: '20-28', packets: 9 });
  t.is(r.p.lanes.tcp4.detector.counters.slotReuses, 1);
  assertValid(t, r.events);
});

test('scan_end when a full hash bucket pushes the scan out', (t) => {
  const params = { hashMax: 1 };
  const r = pipeline(params);
  const first = parseAddress(SRC);
  // Another address in the same bucket, found by walking upwards.
  let other = first + 1;
  while (hashAddress(other, DEFAULT_PARAMS.hashSize) !== hashAddress(first, DEFAULT_PARAMS.hashSize)) other++;
  r.feed(Array.from({ length: 8 }, (_, i) => syn(SRC, 20 + i, MONO + i)));
  const otherText = `${other >>> 24}.${(other >>> 16) & 255}.${(other >>> 8) & 255}.${other & 255}`;
  // The bucket holds one: the second source drops nothing yet (count 1 >= 1 but the
  // chain has no predecessor); the third one in the bucket drops the tail.
  r.feed([syn(otherText, 80, MONO + 20)]);
  let third = other + 1;
  while (hashAddress(third, DEFAULT_PARAMS.hashSize) !== hashAddress(first, DEFAULT_PARAMS.hashSize)) third++;
  r.feed([syn(`${third >>> 24}.${(third >>> 16) & 255}.${(third >>> 8) & 255}.${third & 255}`, 80, MONO + 21)]);
  t.is(r.p.lanes.tcp4.detector.counters.bucketEvictions, 1);
  t.like(r.events[1], { event: 'scan_end', source: SRC, reason: 'bucket-full', distinct_ports: 8 });
  assertValid(t, r.events);
});

test('more scans at once than port sets: the oldest one ends early as tracker-full', (t) => {
  const ends: MonitorEvent[] = [];
  const params = { ...DEFAULT_PARAMS };
  const d = new Ipv4Detector(params, { steps: true });
  const tracker = new ScanTracker(d, 2);
  for (const [k, src] of ['198.18.0.2', '198.18.0.3', '198.18.0.4'].entries()) {
    for (let i = 0; i < 8; i++) {
      const r = syn(src, 20 + i, MONO + 10 * k + i);
      const wallMs = WALL_MS + 10 * k + i;
      const clocks = { mono: r.time, wall: wallMs };
      const scan = d.process(r, clocks);
      ends.push(...tracker.follow(d.step as Step, r, clocks));
      if (scan !== null) ends.push(...tracker.detected(scan, r, 'logged', wallMs));
    }
  }
  t.deepEqual(
    ends.map((e) => `${e.event} ${e.event === 'suppressed' ? '' : e.source}${e.event === 'scan_end' ? ` ${e.reason}` : ''}`),
    ['scan 198.18.0.2', 'scan 198.18.0.3', 'scan_end 198.18.0.2 tracker-full', 'scan 198.18.0.4'],
  );
  t.is(tracker.counters.trackerFull, 1);
  t.is(tracker.active, 2);
});

test('port ranges are compact and bounded', (t) => {
  const set = new Uint32Array(2048);
  const add = (port: number): void => {
    set[port >>> 5] = (set[port >>> 5] as number) | (1 << (port & 31));
  };
  t.deepEqual(portRanges(set, MAX_PORT_RANGES), { text: '', truncated: false });
  for (const p of [0, 1, 2, 31, 32, 33, 64, 65535]) add(p);
  t.deepEqual(portRanges(set, MAX_PORT_RANGES), { text: '0-2,31-33,64,65535', truncated: false });
  set.fill(0xffffffff);
  t.deepEqual(portRanges(set, MAX_PORT_RANGES), { text: '0-65535', truncated: false });
  // Every other port: 32768 ranges, only the first 64 written.
  set.fill(0x55555555);
  const every = portRanges(set, MAX_PORT_RANGES);
  t.true(every.truncated);
  t.is(every.text.split(',').length, 64);
  t.is(every.text, Array.from({ length: 64 }, (_, i) => String(2 * i)).join(','));
});

test('flood: suppressed start at the notice, end with the number dropped once the window closes', (t) => {
  const r = pipeline();
  // Nine scanners one after the other, 10 ms apart: 5 lines, the notice, 3 more silent.
  for (let k = 0; k < 9; k++) r.feed(Array.from({ length: 7 }, (_, i) => syn(`198.18.1.${k + 1}`, 20 + i, MONO + 100 * k + i)));
  t.is(r.lines.length, 6);
  t.is(r.lines[5], 'More possible port scans follow');
  const kinds = r.events.map((e) =>
    e.event === 'scan' ? `scan ${e.syslog}` : e.event === 'suppressed' ? `suppressed ${e.state}` : e.event,
  );
  t.deepEqual(kinds, [
    'scan logged',
    'scan logged',
    'scan logged',
    'scan logged',
    'scan logged',
    'suppressed start',
    'scan flood-notice',
    'scan suppressed',
    'scan suppressed',
    'scan suppressed',
  ]);
  const lastLogged = MONO + 100 * 5 + 6; // the window runs from the notice's scan
  r.sweep(lastLogged + 20000);
  t.is(r.events.filter((e) => e.event === 'suppressed').length, 1, 'the window is still closed at exactly the log delay');
  r.sweep(lastLogged + 20001);
  const end = r.events.find((e) => e.event === 'suppressed' && e.state === 'end');
  t.like(end, { event: 'suppressed', state: 'end', dropped: 4 });
  t.is(r.p.lanes.tcp4.detector.counters.scans - r.p.scansLogged, 4);
  assertValid(t, r.events);
});

test('flood: a scan after the quiet gap ends the suppression before its own event', (t) => {
  const r = pipeline();
  for (let k = 0; k < 7; k++) r.feed(Array.from({ length: 7 }, (_, i) => syn(`198.18.1.${k + 1}`, 20 + i, MONO + 100 * k + i)));
  r.feed(Array.from({ length: 7 }, (_, i) => syn('198.18.2.1', 20 + i, MONO + 60000 + i)));
  const tail = r.events.slice(-2).map((e) => (e.event === 'suppressed' ? `suppressed ${e.state} ${e.dropped}` : `${e.event}`));
  t.deepEqual(tail, ['suppressed end 2', 'scan']);
  t.is(r.lines.length, 7);
});

test('syslog lines are the same with and without structured events (random traffic)', (t) => {
  const rng = new Xorshift32(7);
  const records: Summary4[] = [];
  let time = MONO;
  // Bursts from 64 sources into a 32-entry table: scans, stale sources, reused slots.
  for (let burst = 0; burst < 4000; burst++) {
    const saddr = parseAddress(`198.18.${rng.next() % 2}.${1 + (rng.next() % 32)}`);
    const n = 1 + (rng.next() % 12);
    for (let j = 0; j < n; j++) {
      time += rng.next() % 5;
      records.push({
        saddr,
        daddr: TARGET + (rng.next() % 3),
        sport: 40000 + (rng.next() % 2),
        dport: rng.next() % 1200,
        flags: [0x02, 0x02, 0x02, 0x01, 0x10, 0x04, 0x29][rng.next() % 7] as number,
        tos: 0,
        ttl: 64,
        time: time >>> 0,
      });
    }
    time += rng.next() % 400;
  }
  const small = { listSize: 32, hashSize: 16, hashMax: 4 };
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS, ...small });
  const plain = p.lines;
  for (const r of records) p.feed(r, r.time, WALL_MS + elapsed(r.time, MONO));
  const withEvents = pipeline(small);
  for (let i = 0; i < records.length; i += 500) {
    withEvents.feed(records.slice(i, i + 500));
    withEvents.sweep((records[Math.min(i + 499, records.length - 1)] as Summary4).time);
  }
  t.true(plain.length > 10, `only ${plain.length} lines`);
  t.deepEqual(withEvents.lines, plain);
  t.deepEqual(withEvents.p.lanes.tcp4.detector.counters, p.lanes.tcp4.detector.counters);
  const scans = withEvents.events.filter((e) => e.event === 'scan').length;
  const ends = withEvents.events.filter((e) => e.event === 'scan_end').length;
  t.is(scans, p.lanes.tcp4.detector.counters.scans);
  t.true(ends <= scans && ends >= scans - 32, `${scans} scans, ${ends} ends`);
  assertValid(t, withEvents.events);
});

test('memory: the tracker tables are fixed at start, whatever the traffic', (t) => {
  const r = pipeline();
  const tracker = r.p.lanes.tcp4.tracker as ScanTracker;
  // 256 slots x 94 bytes (packets, two times, 16 destinations, their count and
  // truncation, the followed set; the source and its time are the detector's) +
  // 256 port sets x (8 KiB + 20 bytes: count, slot, time taken, the source followed).
  t.is(tracker.tableBytes, 256 * 94 + 256 * (8192 + 20));
  for (let k = 0; k < 2000; k++) r.feed(Array.from({ length: 8 }, (_, i) => syn(`198.19.${k >> 8}.${k & 255}`, 20 + i, MONO + 10 * k + i)));
  t.is(tracker.tableBytes, 256 * 94 + 256 * (8192 + 20));
  t.true(tracker.active <= 256);
});

test("memory: an IPv6 lane's tracker is fixed too, four words an address", (t) => {
  const tracker = new ScanTracker<Uint32Array>(new Detector<Uint32Array>({ ...DEFAULT_PARAMS }, TCP6, { steps: true }));
  // 256 slots x (94 + 16 x 12 for the destinations) + the port sets (12 more for the source).
  t.is(tracker.tableBytes, 256 * 286 + 256 * (8192 + 32));
});
