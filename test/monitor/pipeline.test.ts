// The monitor's path from records to log lines (ScanPipeline): detection, flood limit
// and text together, as a user reads them in syslog.

process.env.TZ = 'UTC';

import test from 'ava';
import { DEFAULT_PARAMS } from '../../src/shared/params.js';
import { type PacketSummary } from '../../src/shared/record.js';
import { JsonOutput, eventLine } from '../../src/monitor/jsonout.js';
import { schemaErrors } from '../helpers/event-schema.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { ScanPipeline, counterFields, countersEvent, countersMessage } from '../../src/monitor/pipeline.js';

const TARGET = parseAddress('198.18.0.1');
/** Monotonic and wall clocks at the same instant: 2024-11-25 16:16:55.250 UTC. */
const MONO = 5000000;
const WALL_MS = Date.UTC(2024, 10, 25, 16, 16, 55, 250);

/** nmap's most common ports, in the order nmap -sS sends them. */
const NMAP_TOP = [80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995, 993, 5900];

function syn(saddr: string, dport: number, time: number, change: Partial<PacketSummary> = {}): PacketSummary {
  return { saddr: parseAddress(saddr), daddr: TARGET, sport: 40000, dport, flags: 0x02, tos: 0, ttl: 64, time: time >>> 0, ...change };
}

function pipeline(): { p: ScanPipeline; lines: string[] } {
  const lines: string[] = [];
  return { p: new ScanPipeline({ ...DEFAULT_PARAMS }, (line) => lines.push(line)), lines };
}

/** Feeds each record as it is captured: no queueing between capture and monitor. */
function feedLive(p: ScanPipeline, records: PacketSummary[]): void {
  for (const r of records) p.feed(r, r.time, WALL_MS + ((r.time - MONO) | 0));
}

test('an nmap-like SYN scan of 1024 ports gives exactly one line', (t) => {
  const { p, lines } = pipeline();
  const ports = [...NMAP_TOP, ...Array.from({ length: 1024 }, (_, i) => i + 1).filter((port) => !NMAP_TOP.includes(port))];
  // One source port, TTL varying per probe, 1 ms apart.
  const records = ports.map((port, i) => syn('198.18.0.2', port, MONO + i, { sport: 60508, ttl: 37 + (i % 23) }));
  feedLive(p, records);
  t.deepEqual(lines, ['198.18.0.2:60508 to 198.18.0.1 ports 80, 23, 443, 21, 22, 25, 3389, ..., fSrpauxy, TOS 00 @16:16:55']);
  t.is(p.linesLogged, 1);
  t.is(p.scansSuppressed, 0);
  t.is(p.detector.counters.packets, ports.length);
});

test('records read late are placed on the wall clock at their capture time', (t) => {
  const { p, lines } = pipeline();
  const records = NMAP_TOP.slice(0, 8).map((port, i) => syn('198.18.0.2', port, MONO + i));
  // The whole batch arrives 2.5 s after the last capture.
  const monoNow = MONO + 7 + 2500;
  for (const r of records) p.feed(r, monoNow, WALL_MS + 7 + 2500);
  t.deepEqual(lines, ['198.18.0.2:40000 to 198.18.0.1 ports 80, 23, 443, 21, 22, 25, 3389, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55']);
});

test('a record stamped after the monitor\'s clock is placed at the monitor\'s wall time', (t) => {
  const { p, lines } = pipeline();
  const records = NMAP_TOP.slice(0, 8).map((port, i) => syn('198.18.0.2', port, MONO + 3000 + i));
  for (const r of records) p.feed(r, MONO, WALL_MS + 10000);
  t.deepEqual(lines, ['198.18.0.2:40000 to 198.18.0.1 ports 80, 23, 443, 21, 22, 25, 3389, ..., fSrpauxy, TOS 00, TTL 64 @16:17:05']);
});

test('7 sources scanning within 20 s: 5 lines, the flood line, then silence', (t) => {
  const { p, lines } = pipeline();
  const privileged = [21, 22, 23, 25, 53, 80, 110];
  const records: PacketSummary[] = [];
  for (let s = 0; s < 7; s++) {
    privileged.forEach((port, i) => records.push(syn(`198.18.0.${10 + s}`, port, MONO + s * 2000 + i)));
  }
  feedLive(p, records);
  const tail = 'ports 21, 22, 23, 25, 53, 80, ..., fSrpauxy, TOS 00, TTL 64';
  t.deepEqual(lines, [
    `198.18.0.10:40000 to 198.18.0.1 ${tail} @16:16:55`,
    `198.18.0.11:40000 to 198.18.0.1 ${tail} @16:16:57`,
    `198.18.0.12:40000 to 198.18.0.1 ${tail} @16:16:59`,
    `198.18.0.13:40000 to 198.18.0.1 ${tail} @16:17:01`,
    `198.18.0.14:40000 to 198.18.0.1 ${tail} @16:17:03`,
    'More possible port scans follow',
  ]);
  t.is(p.linesLogged, 6);
  // The scan whose line the notice replaced, and the one after it.
  t.is(p.scansSuppressed, 2);
  t.is(p.detector.counters.scans, 7);

  // More than 20 s after the flood line (the 6th scan, at MONO + 10006), logging resumes.
  feedLive(p, privileged.map((port, i) => syn('198.18.0.30', port, MONO + 30001 + i)));
  t.is(lines.length, 7);
  t.is(lines[6], `198.18.0.30:40000 to 198.18.0.1 ${tail} @16:17:25`);
});

test('a source that keeps scanning is reported once, and again after a pause', (t) => {
  const { p, lines } = pipeline();
  const ports = Array.from({ length: 200 }, (_, i) => 1 + i);
  feedLive(p, ports.map((port, i) => syn('198.18.0.2', port, MONO + i * 1000)));
  t.is(lines.length, 1);
  // 3.001 s after its last probe, its next ports are a new scan.
  const resume = MONO + 199 * 1000 + 3001;
  feedLive(p, ports.slice(0, 7).map((port, i) => syn('198.18.0.2', port, resume + i)));
  t.deepEqual(lines, [
    '198.18.0.2:40000 to 198.18.0.1 ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
    '198.18.0.2:40000 to 198.18.0.1 ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 64 @16:20:17',
  ]);
});

test('the counters line: capture counts, the monitor\'s own, the JSON pair only with --json, syslog drops only with --json-syslog', (t) => {
  const { p } = pipeline();
  // Seven scanners in a burst: five lines, the notice, one more held back.
  for (let k = 0; k < 7; k++) feedLive(p, [1, 2, 3, 4, 5, 6, 7].map((port, i) => syn(`198.18.1.${k + 1}`, port, MONO + 100 * k + i)));
  const capture = { packets: 52, dropped: 3, rejected: 2 };
  const plain = counterFields(p, 49, capture, { json: null, syslogEventsDropped: null });
  t.is(
    countersMessage(plain),
    'counters: packets_seen=52 packets_rejected=2 records_received=49 records_dropped_by_capture=3 ' +
      'scans_detected=7 scans_logged=5 scans_suppressed=2 table_reuses=0 bucket_evictions=0',
  );
  const json = new JsonOutput(-1, { failing: () => undefined, recovered: () => undefined });
  json.written = 12;
  t.true(countersMessage(counterFields(p, 49, capture, { json, syslogEventsDropped: null })).endsWith(' bucket_evictions=0 json_lines_written=12 json_lines_dropped=0'));
  const both = counterFields(p, 49, capture, { json, syslogEventsDropped: 4 });
  t.true(countersMessage(both).endsWith(' json_lines_written=12 json_lines_dropped=0 syslog_events_dropped=4'));
  // The event carries the same figures by the same names.
  const event = countersEvent(both, WALL_MS);
  t.like(event, { event: 'counters', time: WALL_MS, packets_seen: 52, scans_suppressed: 2, json_lines_written: 12, syslog_events_dropped: 4 });
  t.deepEqual(schemaErrors(JSON.parse(eventLine(event))), []);
});

test('a scan\'s line comes out before its events, and the flood notice before the flood\'s start', (t) => {
  const order: string[] = [];
  const p = new ScanPipeline({ ...DEFAULT_PARAMS }, (line) => order.push(`line ${line.slice(0, 12)}`), (e) => order.push(`event ${e.event}${e.event === 'suppressed' ? ` ${String(e.state)}` : ''}`));
  for (let k = 0; k < 6; k++) feedLive(p, [1, 2, 3, 4, 5, 6, 7].map((port, i) => syn(`198.18.2.${k + 1}`, port, MONO + 100 * k + i)));
  t.deepEqual(order.slice(-5), ['line 198.18.2.5:4', 'event scan', 'line More possibl', 'event suppressed start', 'event scan']);
  t.is(order.filter((o) => o === 'event scan').length, 6, 'the flood-notice scan has its event too, after the notice');
});
