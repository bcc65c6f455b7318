// The contract between the event's one definition (src/shared/events.ts), its JSON
// schema and the notifier's reader: every event the daemon's pipeline writes validates
// against the schema and reads back as a note with the same values; the largest line
// the daemon can write is the bound the reader enforces; the schema states the
// definition's bounds; and the reader accepts nothing the schema refuses.

import test from 'ava';
import fs = require('node:fs');
import {
  COUNTERS,
  END_REASONS,
  FAMILIES,
  MAX_DESTINATIONS,
  MAX_PORT_RANGES,
  MAX_SCAN_PORTS,
  MAX_SLOW_CONTACTS,
  OPTIONAL_COUNTERS,
  PROTOCOLS,
  SYSLOG_VERDICTS,
  eventLine,
  eventObject,
  largestEvent,
  maxEventLineBytes,
  type MonitorEvent,
} from '../../src/shared/events.js';
import { DEFAULT_PARAMS } from '../../src/shared/params.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { parseAddress6 } from '../../src/shared/ipv6.js';
import type { Summary4 } from '../../src/shared/record.js';
import { counterFields, countersEvent } from '../../src/monitor/pipeline.js';
import { RecordedPipeline } from '../helpers/pipeline.js';
import type { SocketSink } from '../../src/monitor/sockets.js';
import { JsonOutput } from '../../src/monitor/jsonout.js';
import { parseLine, type Note, type SlowNote } from '../../src/notify/events.js';
import { SCHEMA_PATH, schemaErrors } from '../helpers/event-schema.js';
import { eventsOfScan } from '../helpers/events.js';

const WALL = Date.UTC(2026, 11, 2, 8, 0, 0, 250);
const MONO = 5000000;

/**
 * The second stage's events (--slow-scans), as the pipeline writes them: a slow scan of
 * six closed ports, and a sweep of one port over five of the host's addresses.
 */
function secondStageEvents(): MonitorEvent[] {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { events: true, slowScans: true });
  const openPorts = (sink: SocketSink): void => sink.listener('tcp', new Uint32Array(4), 22);
  const wall = (mono: number): number => WALL + (mono - MONO);
  const syn = (saddr: string, daddr: string, dport: number, time: number): Summary4 => ({
    saddr: parseAddress(saddr),
    daddr: parseAddress(daddr),
    sport: 40000,
    dport,
    flags: 0x02,
    tos: 0,
    ttl: 64,
    time: time >>> 0,
  });
  p.refreshSockets(openPorts, MONO, WALL);
  for (let i = 0; i < 6; i++) {
    const time = MONO + 1000 + i * 15_000;
    p.feed(syn('198.19.4.1', '198.18.0.1', 1000 + i, time), time >>> 0, wall(time));
  }
  for (let i = 0; i < 5; i++) {
    const time = MONO + 1000 + i * 60_000;
    p.feed(syn('198.19.5.5', `198.18.0.${2 * i + 1}`, 445, time), time >>> 0, wall(time));
  }
  p.refreshSockets(openPorts, (MONO + 300_000) >>> 0, wall(MONO + 300_000));
  return [...p.events];
}

/** Events of every kind and lane, as the pipeline writes them: scans and their ends by each reason, a flood, counters. */
function everyKindOfEvent(): MonitorEvent[] {
  const p = new RecordedPipeline(
    { ...DEFAULT_PARAMS, listSize: 4, hashSize: 4, hashMax: 2 },
    {
      watch: { udp: true, ipv6: true, ephemeralPorts: { first: 32768, last: 60999 } },
      events: true,
    },
  );
  let time = MONO;
  const at = (): [number, number] => [time >>> 0, WALL + (time - MONO)];
  const syn = (saddr: string, dport: number, change: Partial<Summary4> = {}): Summary4 => ({
    saddr: parseAddress(saddr),
    daddr: parseAddress('198.18.0.1') + (dport % 3),
    sport: 40000 + (dport % 2),
    dport,
    flags: 0x02,
    tos: 0,
    ttl: 64,
    time: time >>> 0,
    ...change,
  });
  // Eight IPv4 TCP scanners into four table slots: entries reused, a flood of lines.
  for (let k = 0; k < 8; k++) {
    for (let port = 1; port <= 8; port++, time++) p.feed(syn(`198.51.100.${k + 1}`, port * (k + 1)), ...at());
  }
  // A UDP scan and IPv6 TCP and UDP scans.
  for (let port = 1; port <= 8; port++, time++) p.feedUdp(syn('203.0.113.5', port, { flags: 0, sport: 5353 }), ...at());
  for (const protocol of ['tcp', 'udp'] as const) {
    for (let port = 1; port <= 8; port++, time++) {
      p.feed6(
        {
          type: 'ip6',
          protocol,
          saddr: parseAddress6('2001:db8::7'),
          daddr: parseAddress6(`2001:db8::${port % 2 === 0 ? '1' : 'ffff:1.2.3.4'}`),
          sport: 40000,
          dport: port,
          flags: protocol === 'tcp' ? 0x02 : 0,
          tos: port,
          ttl: 64,
          time: time >>> 0,
        },
        ...at(),
      );
    }
  }
  // Quiet: every followed scan ends, and the flood window closes.
  time += 60000;
  p.sweep(...at());
  const json = new JsonOutput(-1, { failing: () => undefined, recovered: () => undefined });
  const events: MonitorEvent[] = [...p.events, ...secondStageEvents()];
  events.push(
    countersEvent(
      counterFields(
        p,
        100,
        { packets: 200, dropped: 1, rejected: 2, kernelDrops: new Map([['tcp4' as const, 5]]) },
        { json, syslogEventsDropped: 0 },
      ),
      WALL,
    ),
  );
  return events;
}

const isSlowNote = (n: Note): n is SlowNote => n.event === 'slow_scan' || n.event === 'sweep';

/** A slow scan's or a sweep's values, as they are in the event's object. */
function sameSlowValues(o: Record<string, unknown>, n: SlowNote): boolean {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const common =
    o['source'] === n.source && same(o['destinations'], n.destinations) && o['first'] === n.first.text && o['last'] === n.last.text;
  if (n.event === 'sweep') return common && same([o['protocol']], n.protocols) && same([o['port']], n.ports) && o['hosts'] === n.count;
  return common && same(o['protocols'], n.protocols) && same(o['ports'], n.ports) && o['failed'] === n.count;
}

/** The note's values, as they are in the event. */
function sameValues(e: MonitorEvent, n: Note): boolean {
  const o = eventObject(e);
  if (n.event === 'suppressed') return o['state'] === n.state && o['time'] === n.time.text && (o['dropped'] ?? null) === n.dropped;
  if (isSlowNote(n)) return sameSlowValues(o, n);
  const common =
    o['source'] === n.source &&
    o['protocol'] === n.protocol &&
    JSON.stringify(o['destinations']) === JSON.stringify(n.destinations) &&
    o['first'] === n.first.text &&
    n.first.ms === (e as { first: number }).first &&
    n.last.ms === (e as { last: number }).last &&
    o['packets'] === n.packets;
  if (n.event === 'scan') return common && JSON.stringify(o['ports']) === JSON.stringify(n.ports);
  return (
    common &&
    o['distinct_ports'] === n.distinctPorts &&
    n.ranges.map((r) => (r.low === r.high ? `${r.low}` : `${r.low}-${r.high}`)).join(',') === o['port_ranges']
  );
}

test('every event the pipeline writes, of every kind and lane, validates against the schema and reads back with the same values', (t) => {
  const events = everyKindOfEvent();
  const seen = new Set(
    events.map((e) => (e.event === 'scan_end' ? `scan_end ${e.reason}` : e.event === 'scan' ? `scan ${e.family} ${e.protocol}` : e.event)),
  );
  for (const kind of [
    'scan ipv4 tcp',
    'scan ipv4 udp',
    'scan ipv6 tcp',
    'scan ipv6 udp',
    'slow_scan',
    'sweep',
    'scan_end quiet',
    'scan_end entry-reused',
    'suppressed',
    'counters',
  ]) {
    t.true(seen.has(kind), `no ${kind} event among ${[...seen].join(', ')}`);
  }
  for (const e of events) {
    const line = eventLine(e);
    t.deepEqual(schemaErrors(JSON.parse(line)), [], line);
    t.true(Buffer.byteLength(line) <= maxEventLineBytes());
    const v = parseLine(line.slice(0, -1));
    if (e.event === 'counters') t.deepEqual(v, { kind: 'skip' }, line);
    else t.true(v.kind === 'note' && sameValues(e, v.note), `${line} read as ${JSON.stringify(v)}`);
  }
});

test('the largest line the daemon can write: the reader’s bound, valid, a note; the pipeline at --max-ports 10000 stays within it', (t) => {
  const largest = eventLine(largestEvent());
  t.is(Buffer.byteLength(largest), maxEventLineBytes());
  t.deepEqual(schemaErrors(JSON.parse(largest)), []);
  t.is(parseLine(largest.slice(0, -1)).kind, 'note');
  // The most ports a scan event can hold, through the real pipeline.
  const params = {
    ...DEFAULT_PARAMS,
    portWeightPriv: 1,
    portWeightHigh: 1,
    scanWeightThreshold: MAX_SCAN_PORTS,
    maxPorts: MAX_SCAN_PORTS - 1,
  };
  const ports = Array.from({ length: MAX_SCAN_PORTS + 500 }, (_, i) => 65535 - i);
  const scan = eventsOfScan('255.255.255.254', ports, WALL, params).find((e) => e.event === 'scan');
  t.is((scan as { ports: number[] } | undefined)?.ports.length, MAX_SCAN_PORTS);
  const line = eventLine(scan as MonitorEvent);
  t.true(Buffer.byteLength(line) <= maxEventLineBytes(), `${Buffer.byteLength(line)} > ${maxEventLineBytes()}`);
  t.is(parseLine(line.slice(0, -1)).kind, 'note');
  // What the IPv4 scan lacks of the bound: longer addresses, 15 more destinations, larger counts.
  t.true(maxEventLineBytes() - Buffer.byteLength(line) < 1000);
});

test("the schema states the definition's bounds and names", (t) => {
  const schema = JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')) as {
    definitions: Record<
      string,
      { properties?: Record<string, Record<string, unknown>>; required?: string[]; maxItems?: number; enum?: string[] }
    >;
  };
  const d = schema.definitions;
  t.is(d['destinations']?.maxItems, MAX_DESTINATIONS);
  t.is(d['scan']?.properties?.['ports']?.['maxItems'], MAX_SCAN_PORTS);
  t.true(String(d['scan_end']?.properties?.['port_ranges']?.['pattern']).endsWith(`{0,${MAX_PORT_RANGES - 1}}$`));
  t.deepEqual(d['family']?.enum, FAMILIES);
  t.deepEqual(d['protocol']?.enum, PROTOCOLS);
  t.deepEqual(d['scan']?.properties?.['syslog']?.['enum'], SYSLOG_VERDICTS);
  t.deepEqual(d['scan_end']?.properties?.['reason']?.['enum'], END_REASONS);
  t.deepEqual(d['counters']?.required, ['event', 'time', ...COUNTERS]);
  t.deepEqual(Object.keys(d['counters']?.properties ?? {}), ['event', 'time', ...COUNTERS, ...OPTIONAL_COUNTERS]);
  for (const kind of ['slow_scan', 'sweep']) t.is(d[kind]?.properties?.['destinations']?.['maxItems'], MAX_SLOW_CONTACTS);
  t.is(d['slow_scan']?.properties?.['ports']?.['maxItems'], MAX_SLOW_CONTACTS);
  // Every field the writer puts in a scan, a scan_end, a slow_scan and a sweep, and no other, is the schema's.
  for (const e of everyKindOfEvent()) {
    if (e.event === 'suppressed' || e.event === 'counters') continue;
    t.deepEqual(Object.keys(eventObject(e)).sort(), [...(d[e.event]?.required ?? [])].sort());
  }
});

test('the reader accepts nothing the schema refuses (random changes to real events)', (t) => {
  let seed = 99;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    1,
    2,
    -1,
    1.5,
    255,
    256,
    65535,
    65536,
    '',
    'x',
    'tcp',
    'udp',
    'ipv6',
    'start',
    [],
    [1, 2],
    [22, 22],
    ['198.18.0.1'],
    {},
    '1-2,4',
    '2001:db8::1',
    '198.18.0.9',
    '2026-12-02T09:00:00.000+01:00',
    2 ** 53,
  ];
  const bases = everyKindOfEvent().map((e) => eventObject(e));
  let accepted = 0;
  let refusedBoth = 0;
  const wrong: string[] = [];
  for (let i = 0; i < 20000; i++) {
    const o = { ...(bases[next(bases.length)] as Record<string, unknown>) };
    const keys = Object.keys(o);
    for (let changes = 1 + next(2); changes > 0; changes--) {
      const key = next(8) === 0 ? `extra_${next(3)}` : (keys[next(keys.length)] as string);
      if (next(10) === 0) delete o[key];
      else o[key] = values[next(values.length)];
    }
    const verdict = parseLine(JSON.stringify(o));
    const valid = schemaErrors(o).length === 0;
    if (verdict.kind !== 'bad') {
      accepted++;
      if (!valid) wrong.push(JSON.stringify(o));
    } else if (!valid) refusedBoth++;
  }
  t.deepEqual(wrong.slice(0, 5), []);
  t.true(accepted > 100 && refusedBoth > 10000, `${accepted} accepted, ${refusedBoth} refused by both`);
});
