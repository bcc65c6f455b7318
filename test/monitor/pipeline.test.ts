// The monitor's path from records to log lines (ScanPipeline): detection, flood limit
// and text together, as a user reads them in syslog.

process.env.TZ = 'UTC';

import test from 'ava';
import { elapsed } from '../../src/shared/clock.js';
import { DEFAULT_PARAMS } from '../../src/shared/params.js';
import { RECORD_SIZE, RecordError, decode, encode, type Ip6Record, type Summary4, type Protocol } from '../../src/shared/record.js';
import { parseAddress6 } from '../../src/shared/ipv6.js';
import { eventLine, type MonitorEvent, type ScanEndEvent, type ScanEvent } from '../../src/shared/events.js';
import { JsonOutput } from '../../src/monitor/jsonout.js';
import { schemaErrors } from '../helpers/event-schema.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { counterFields, countersEvent, countersMessage, isClientReply, type Output, type Watch } from '../../src/monitor/pipeline.js';
import type { SocketSink } from '../../src/monitor/sockets.js';
import { RecordReader } from '../../src/monitor/channel.js';
import { RecordedPipeline } from '../helpers/pipeline.js';
import { answerToRecord, packetToRecord } from '../../src/capture/packet.js';
import { ANSWER_WINDOW_MS } from '../../src/monitor/earlyanswers.js';

const TARGET = parseAddress('198.18.0.1');
/** Monotonic and wall clocks at the same instant: 2024-11-25 16:16:55.250 UTC. */
const MONO = 5000000;
const WALL_MS = Date.UTC(2024, 10, 25, 16, 16, 55, 250);

/** nmap's most common ports, in the order nmap -sS sends them. */
const NMAP_TOP = [80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995, 993, 5900];

function syn(saddr: string, dport: number, time: number, change: Partial<Summary4> = {}): Summary4 {
  return { saddr: parseAddress(saddr), daddr: TARGET, sport: 40000, dport, flags: 0x02, tos: 0, ttl: 64, time: time >>> 0, ...change };
}

function pipeline(): { p: RecordedPipeline; lines: string[] } {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS });
  return { p, lines: p.lines };
}

/** Feeds each record as it is captured: no queueing between capture and monitor. */
function feedLive(p: RecordedPipeline, records: Summary4[]): void {
  for (const r of records) p.feed(r, r.time, WALL_MS + elapsed(r.time, MONO));
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
  t.is(p.lanes.tcp4.detector.counters.packets, ports.length);
});

test('records read late are placed on the wall clock at their capture time', (t) => {
  const { p, lines } = pipeline();
  const records = NMAP_TOP.slice(0, 8).map((port, i) => syn('198.18.0.2', port, MONO + i));
  // The whole batch arrives 2.5 s after the last capture.
  const monoNow = MONO + 7 + 2500;
  for (const r of records) p.feed(r, monoNow, WALL_MS + 7 + 2500);
  t.deepEqual(lines, ['198.18.0.2:40000 to 198.18.0.1 ports 80, 23, 443, 21, 22, 25, 3389, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55']);
});

test("a record stamped after the monitor's clock is placed at the monitor's wall time", (t) => {
  const { p, lines } = pipeline();
  const records = NMAP_TOP.slice(0, 8).map((port, i) => syn('198.18.0.2', port, MONO + 3000 + i));
  for (const r of records) p.feed(r, MONO, WALL_MS + 10000);
  t.deepEqual(lines, ['198.18.0.2:40000 to 198.18.0.1 ports 80, 23, 443, 21, 22, 25, 3389, ..., fSrpauxy, TOS 00, TTL 64 @16:17:05']);
});

test('7 sources scanning within 20 s: 5 lines, the flood line, then silence', (t) => {
  const { p, lines } = pipeline();
  const privileged = [21, 22, 23, 25, 53, 80, 110];
  const records: Summary4[] = [];
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
  t.is(p.lanes.tcp4.detector.counters.scans, 7);

  // More than 20 s after the flood line (the 6th scan, at MONO + 10006), logging resumes.
  feedLive(
    p,
    privileged.map((port, i) => syn('198.18.0.30', port, MONO + 30001 + i)),
  );
  t.is(lines.length, 7);
  t.is(lines[6], `198.18.0.30:40000 to 198.18.0.1 ${tail} @16:17:25`);
});

test('a source that keeps scanning is reported once, and again after a pause', (t) => {
  const { p, lines } = pipeline();
  const ports = Array.from({ length: 200 }, (_, i) => 1 + i);
  feedLive(
    p,
    ports.map((port, i) => syn('198.18.0.2', port, MONO + i * 1000)),
  );
  t.is(lines.length, 1);
  // 3.001 s after its last probe, its next ports are a new scan.
  const resume = MONO + 199 * 1000 + 3001;
  feedLive(
    p,
    ports.slice(0, 7).map((port, i) => syn('198.18.0.2', port, resume + i)),
  );
  t.deepEqual(lines, [
    '198.18.0.2:40000 to 198.18.0.1 ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
    '198.18.0.2:40000 to 198.18.0.1 ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 64 @16:20:17',
  ]);
});

test("the counters line: capture counts, the monitor's own, the JSON pair only with --json, syslog drops only with --json-syslog", (t) => {
  const { p } = pipeline();
  // Seven scanners in a burst: five lines, the notice, one more held back.
  for (let k = 0; k < 7; k++)
    feedLive(
      p,
      [1, 2, 3, 4, 5, 6, 7].map((port, i) => syn(`198.18.1.${k + 1}`, port, MONO + 100 * k + i)),
    );
  const capture = { packets: 52, dropped: 3, rejected: 2, kernelDrops: new Map([['tcp4' as const, 0]]) };
  const plain = counterFields(p, 49, capture, { json: null, syslogEventsDropped: null });
  t.is(
    countersMessage(plain),
    'counters: packets_seen=52 packets_rejected=2 records_received=49 records_dropped_by_capture=3 ' +
      'scans_detected=7 scans_logged=5 scans_suppressed=2 table_reuses=0 bucket_evictions=0 kernel_drops=0',
  );
  const json = new JsonOutput(-1, { failing: () => undefined, recovered: () => undefined });
  json.written = 12;
  t.true(
    countersMessage(counterFields(p, 49, capture, { json, syslogEventsDropped: null })).endsWith(
      ' bucket_evictions=0 json_lines_written=12 json_lines_dropped=0 kernel_drops=0',
    ),
  );
  const both = counterFields(p, 49, capture, { json, syslogEventsDropped: 4 });
  t.true(countersMessage(both).endsWith(' json_lines_written=12 json_lines_dropped=0 syslog_events_dropped=4 kernel_drops=0'));
  // The event carries the same figures by the same names.
  const event = countersEvent(both, WALL_MS);
  t.like(event, {
    event: 'counters',
    time: WALL_MS,
    packets_seen: 52,
    scans_suppressed: 2,
    json_lines_written: 12,
    syslog_events_dropped: 4,
  });
  t.deepEqual(schemaErrors(JSON.parse(eventLine(event))), []);
});

test("a scan's line comes out before its events, and the flood notice before the flood's start", (t) => {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { events: true });
  for (let k = 0; k < 6; k++)
    feedLive(
      p,
      [1, 2, 3, 4, 5, 6, 7].map((port, i) => syn(`198.18.2.${k + 1}`, port, MONO + 100 * k + i)),
    );
  const order = p.outputs.map((o) =>
    o.kind === 'line'
      ? `line ${o.text.slice(0, 12)}`
      : `event ${o.event.event}${o.event.event === 'suppressed' ? ` ${String(o.event.state)}` : ''}`,
  );
  t.deepEqual(order.slice(-5), ['line 198.18.2.5:4', 'event scan', 'line More possibl', 'event suppressed start', 'event scan']);
  t.is(order.filter((o) => o === 'event scan').length, 6, 'the flood-notice scan has its event too, after the notice');
});

// ---------------------------------------------------------------------------
// --udp and --ipv6: their lanes, their lines, and the UDP reply rule.

const EPHEMERAL = { first: 32768, last: 60999 };
const ALL_ON: Watch = { udp: true, ipv6: true, ephemeralPorts: EPHEMERAL };

function pipelineWith(watch: Watch, events = false): { p: RecordedPipeline; lines: string[]; events: MonitorEvent[] } {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { watch, events });
  return { p, lines: p.lines, events: p.events };
}

function datagram(saddr: string, sport: number, dport: number, time: number, change: Partial<Summary4> = {}): Summary4 {
  return { saddr: parseAddress(saddr), daddr: TARGET, sport, dport, flags: 0, tos: 0, ttl: 64, time: time >>> 0, ...change };
}

function packet6(protocol: Protocol, saddr: string, dport: number, time: number, change: Partial<Ip6Record> = {}): Ip6Record {
  return {
    type: 'ip6',
    protocol,
    saddr: parseAddress6(saddr),
    daddr: parseAddress6('2001:db8::1'),
    sport: 40000,
    dport,
    flags: protocol === 'tcp' ? 0x02 : 0,
    tos: 0,
    ttl: 64,
    time: time >>> 0,
    ...change,
  };
}

const wallOf = (time: number): number => WALL_MS + elapsed(time, MONO);

test('--udp: a UDP scan from source port 53 (nmap -sU -g 53) is logged with UDP where the flags go', (t) => {
  const { p, lines } = pipelineWith(ALL_ON);
  const ports = [7, 9, 13, 17, 19, 37, 49, 53, 67, 68];
  for (const [i, port] of ports.entries()) p.feedUdp(datagram('198.18.0.2', 53, port, MONO + i), MONO + i, wallOf(MONO + i));
  t.deepEqual(lines, ['198.18.0.2:53 to 198.18.0.1 ports 7, 9, 13, 17, 19, 37, ..., UDP, TOS 00, TTL 64 @16:16:55']);
});

test("--udp: replies from a resolver (port 53) to thousands of this host's ephemeral ports are never a scan", (t) => {
  const { p, lines } = pipelineWith(ALL_ON);
  // A host looking up 5000 names in 5 s: each answer to a new random client port.
  for (let i = 0; i < 5000; i++) {
    const time = MONO + i;
    p.feedUdp(datagram('198.18.0.53', 53, 32768 + ((i * 7919) % 28232), time), time, wallOf(time));
  }
  for (let i = 0; i < 2000; i++) {
    const time = MONO + 6000 + i;
    p.feed6(packet6('udp', '2001:db8::53', 32768 + ((i * 7919) % 28232), time, { sport: 443 }), time, wallOf(time));
    p.feedUdp(datagram('198.18.0.123', 123, 40000 + i, time), time, wallOf(time));
  }
  t.deepEqual(lines, []);
  t.is(p.udpRepliesSkipped, 9000);
  t.is(p.detection.scans, 0);
});

test('--udp: the reply rule is exactly a service source port (below 1024) to a port in the ephemeral range', (t) => {
  t.true(isClientReply(53, 32768, EPHEMERAL));
  t.true(isClientReply(1023, 60999, EPHEMERAL));
  t.false(isClientReply(1024, 40000, EPHEMERAL), 'a high source port: a probe');
  t.false(isClientReply(53, 32767, EPHEMERAL), 'below the range');
  t.false(isClientReply(53, 61000, EPHEMERAL), 'above the range');
  t.false(isClientReply(53, 40000, null), 'no range: nothing is a reply');
});

test('--udp: a scan of high ports from a high source port is logged, ephemeral range included', (t) => {
  const { p, lines } = pipelineWith(ALL_ON);
  for (let i = 0; i < 25; i++) p.feedUdp(datagram('198.18.0.2', 45678, 40000 + i, MONO + i), MONO + i, wallOf(MONO + i));
  t.is(lines.length, 1);
  t.regex(lines[0]!, /^198\.18\.0\.2:45678 to 198\.18\.0\.1 ports 40000, 40001, .*\.\.\., UDP, TOS 00, TTL 64 @16:16:55$/);
});

test('--udp: UDP and TCP from one source are separate scans: 4 UDP and 4 TCP privileged ports are none', (t) => {
  const { p, lines } = pipelineWith(ALL_ON);
  for (const [i, port] of [21, 22, 23, 25].entries()) {
    p.feed(syn('198.18.0.2', port, MONO + i), MONO + i, wallOf(MONO + i));
    p.feedUdp(datagram('198.18.0.2', 40000, port + 100, MONO + i), MONO + i, wallOf(MONO + i));
  }
  t.deepEqual(lines, []);
});

test('--ipv6: a SYN scan gives the bracketed source with its port, RFC 5952 addresses, hop limit as TTL', (t) => {
  const { p, lines } = pipelineWith(ALL_ON);
  for (const [i, port] of NMAP_TOP.slice(0, 8).entries()) {
    p.feed6(packet6('tcp', '2001:0db8:0:0::2', port, MONO + i, { ttl: 57, tos: 0x20 }), MONO + i, wallOf(MONO + i));
  }
  t.deepEqual(lines, ['[2001:db8::2]:40000 to 2001:db8::1 ports 80, 23, 443, 21, 22, 25, 3389, ..., fSrpauxy, TOS 20, TTL 57 @16:16:55']);
});

test('--ipv6: a changing source port leaves the address bare; a changing destination says "and others"', (t) => {
  const { p, lines } = pipelineWith(ALL_ON);
  for (const [i, port] of NMAP_TOP.slice(0, 8).entries()) {
    const change = { sport: 40000 + i, daddr: parseAddress6(i % 2 === 0 ? '2001:db8::1' : 'fd00::1'), ttl: 60 + i };
    p.feed6(packet6('tcp', 'fd00:5c::2', port, MONO + i, change), MONO + i, wallOf(MONO + i));
  }
  t.deepEqual(lines, ['fd00:5c::2 to 2001:db8::1 and others, ports 80, 23, 443, 21, 22, 25, 3389, ..., fSrpauxy, TOS 00 @16:16:55']);
});

test('--ipv6 --udp: an IPv6 UDP scan', (t) => {
  const { p, lines } = pipelineWith(ALL_ON);
  for (const [i, port] of [7, 9, 13, 17, 19, 37, 49, 53].entries()) {
    p.feed6(packet6('udp', '2001:db8::2', port, MONO + i, { sport: 53 }), MONO + i, wallOf(MONO + i));
  }
  t.deepEqual(lines, ['[2001:db8::2]:53 to 2001:db8::1 ports 7, 9, 13, 17, 19, 37, ..., UDP, TOS 00, TTL 64 @16:16:55']);
});

test('the flood limit is shared: IPv4, IPv6 and UDP scans together get 5 lines and the notice', (t) => {
  const { p, lines } = pipelineWith(ALL_ON);
  const privileged = [21, 22, 23, 25, 53, 80, 110];
  for (let s = 0; s < 8; s++) {
    for (const [i, port] of privileged.entries()) {
      const time = MONO + s * 100 + i;
      if (s % 3 === 0) p.feed(syn(`198.18.1.${s}`, port, time), time, wallOf(time));
      else if (s % 3 === 1) p.feed6(packet6('tcp', `2001:db8::${s}`, port, time), time, wallOf(time));
      else p.feedUdp(datagram(`198.18.1.${s}`, 40000, port, time), time, wallOf(time));
    }
  }
  t.is(lines.length, 6);
  t.is(lines[5], 'More possible port scans follow');
  t.is(p.scansSuppressed, 3);
});

test('a record of a lane that is off is a fault, not something to skip', (t) => {
  // Refused where records are read, before the pipeline: the capture process's fault.
  const read = (lanes: { udp: boolean; ipv6: boolean }, bytes: Buffer): void => new RecordReader(lanes).push(bytes, () => {});
  const off = { udp: false, ipv6: false };
  t.throws(() => read(off, encode({ ...datagram('198.18.0.2', 53, 7, MONO), type: 'udp4' })), {
    instanceOf: RecordError,
    message: 'an IPv4 UDP record arrived, but the daemon runs without --udp',
  });
  t.throws(() => read(off, encode(packet6('tcp', '2001:db8::2', 22, MONO))), {
    instanceOf: RecordError,
    message: 'an IPv6 TCP record arrived, but the daemon runs without --ipv6',
  });
  t.throws(() => read({ udp: false, ipv6: true }, encode(packet6('udp', '2001:db8::2', 22, MONO))), {
    instanceOf: RecordError,
    message: 'an IPv6 UDP record arrived, but the daemon runs without --ipv6 --udp',
  });
});

test('events: family and protocol on scan and scan_end, IPv6 addresses, valid against the schema', (t) => {
  const { p, events } = pipelineWith(ALL_ON, true);
  for (const [i, port] of [7, 9, 13, 17, 19, 37, 49, 53].entries()) {
    p.feed6(
      packet6('udp', '2001:db8::2', port, MONO + i, { sport: 53, daddr: parseAddress6(i < 4 ? '2001:db8::1' : 'fd00::1') }),
      MONO + i,
      wallOf(MONO + i),
    );
  }
  p.sweep(MONO + 5000, WALL_MS + 5000);
  t.deepEqual(
    events.map((e) => e.event),
    ['scan', 'scan_end'],
  );
  const [scan, end] = events as [ScanEvent, ScanEndEvent];
  t.like(scan, {
    family: 'ipv6',
    protocol: 'udp',
    source: '2001:db8::2',
    source_port: 53,
    destinations: ['2001:db8::1', 'fd00::1'],
    flags: 'fsrpauxy',
    ports: [7, 9, 13, 17, 19, 37, 49],
  });
  t.like(end, { family: 'ipv6', protocol: 'udp', source: '2001:db8::2', distinct_ports: 8, destinations: ['2001:db8::1', 'fd00::1'] });
  for (const e of events) t.deepEqual(schemaErrors(JSON.parse(eventLine(e))), []);
  // A v4 TCP scan says so too.
  const { p: q, events: v4 } = pipelineWith(ALL_ON, true);
  for (const [i, port] of NMAP_TOP.slice(0, 8).entries()) q.feed(syn('198.18.0.2', port, MONO + i), MONO + i, wallOf(MONO + i));
  t.like(v4[0], { event: 'scan', family: 'ipv4', protocol: 'tcp' });
});

test('--udp adds udp_replies_skipped to the counters; without it the line is unchanged', (t) => {
  const { p } = pipelineWith(ALL_ON);
  p.feedUdp(datagram('198.18.0.53', 53, 40000, MONO), MONO, WALL_MS);
  const capture = { packets: 1, dropped: 0, rejected: 0, kernelDrops: new Map([['tcp4' as const, 0]]) };
  t.regex(
    countersMessage(counterFields(p, 1, capture, { json: null, syslogEventsDropped: null })),
    / udp_replies_skipped=1 kernel_drops=0$/,
  );
  t.notRegex(countersMessage(counterFields(pipeline().p, 1, capture, { json: null, syslogEventsDropped: null })), /udp/);
});

// ---------------------------------------------------------------------------
// --slow-scans: the second stage beside scanlogd's, which it never changes.

/** This host's sockets for the second stage: ssh and https open to anyone. */
function openPorts(sink: SocketSink): void {
  for (const port of [22, 443]) sink.listener('tcp', new Uint32Array(4), port);
}

test("--slow-scans changes none of scanlogd's outputs: the same lines and events for the same records, its own besides", (t) => {
  let seed = 99;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const records: Summary4[] = [];
  let time = MONO;
  for (let i = 0; i < 40000; i++) {
    // Bursts (scanlogd's scans) and quiet stretches (the second stage's), from a few
    // dozen sources, mostly SYNs, some with ACK, RST or FIN, to a few hundred ports.
    time += i % 10000 < 5000 ? rnd(4) : rnd(3000);
    records.push(syn(`198.18.${rnd(3)}.${1 + rnd(40)}`, 1 + rnd(300), time, { flags: [0x02, 0x02, 0x02, 0x12, 0x10, 0x04, 0x01][rnd(7)] }));
  }
  const run = (slowScans: boolean): RecordedPipeline => {
    const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { events: true, slowScans });
    for (const r of records) {
      p.feed(r, r.time, wallOf(r.time));
      if (slowScans && p.slow?.wantsRefresh(r.time) === true) p.refreshSockets(openPorts, r.time, wallOf(r.time));
    }
    return p;
  };
  const classic = run(false);
  const staged = run(true);
  const stageLine = (text: string): boolean => / slow scan: | swept port /.test(text) || text.startsWith('More possible slow');
  const ofStage = (o: Output): boolean =>
    o.kind === 'line' ? stageLine(o.text) : o.event.event === 'slow_scan' || o.event.event === 'sweep';
  t.true(classic.lines.length > 5);
  t.deepEqual(
    staged.outputs.filter((o) => !ofStage(o)),
    classic.outputs,
  );
  t.true(staged.outputs.some(ofStage), 'and the stage did report');
});

test('--slow-scans: a fast scan that scanlogd reports is one line, not also a slow scan of 0 s', (t) => {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { slowScans: true });
  p.refreshSockets(openPorts, MONO, WALL_MS);
  for (let i = 0; i < 20; i++) p.feed(syn('198.19.2.2', 1000 + i, MONO + i), MONO + i, wallOf(MONO + i));
  // Later probes of the same source, slow ones, stay silent while it is remembered.
  for (let i = 0; i < 8; i++) {
    const time = MONO + 60_000 + i * 15_000;
    p.feed(syn('198.19.2.2', 2000 + i, time), time, wallOf(time));
  }
  p.refreshSockets(openPorts, MONO + 300_000, wallOf(MONO + 300_000));
  t.is(p.lines.length, 1, p.lines.join('\n'));
  t.regex(p.lines[0] as string, /^198\.19\.2\.2:\d+ to 198\.18\.0\.1 ports /);
  // Another source scanning as slowly is reported.
  const q = new RecordedPipeline({ ...DEFAULT_PARAMS }, { slowScans: true });
  q.refreshSockets(openPorts, MONO, WALL_MS);
  for (let i = 0; i < 8; i++) {
    const time = MONO + 60_000 + i * 15_000;
    q.feed(syn('198.19.2.3', 2000 + i, time), time, wallOf(time));
  }
  q.refreshSockets(openPorts, MONO + 300_000, wallOf(MONO + 300_000));
  t.is(q.lines.length, 1, q.lines.join('\n'));
  t.regex(q.lines[0] as string, / slow scan: /);
});

test("--slow-scans: its lines have a flood limit of their own, which leaves scanlogd's untouched", (t) => {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { events: true, slowScans: true });
  p.refreshSockets(openPorts, MONO, WALL_MS);
  // Eight sources probing six closed ports each, 15 s apart (nmap -T1).
  for (let i = 0; i < 6; i++) {
    const time = MONO + 1000 + i * 15_000;
    for (let k = 0; k < 8; k++) p.feed(syn(`198.19.4.${k + 1}`, 1000 + i, time + k), time + k, wallOf(time + k));
  }
  p.refreshSockets(openPorts, MONO + 100_000, wallOf(MONO + 100_000));
  t.deepEqual(p.lines, [
    '198.19.4.1 to 198.18.0.1 slow scan: 6 closed ports over 75 s, ports 1000, 1001, 1002, 1003, 1004, 1005, TCP @16:16:56',
    '198.19.4.2 to 198.18.0.1 slow scan: 6 closed ports over 75 s, ports 1000, 1001, 1002, 1003, 1004, 1005, TCP @16:16:56',
    '198.19.4.3 to 198.18.0.1 slow scan: 6 closed ports over 75 s, ports 1000, 1001, 1002, 1003, 1004, 1005, TCP @16:16:56',
    '198.19.4.4 to 198.18.0.1 slow scan: 6 closed ports over 75 s, ports 1000, 1001, 1002, 1003, 1004, 1005, TCP @16:16:56',
    '198.19.4.5 to 198.18.0.1 slow scan: 6 closed ports over 75 s, ports 1000, 1001, 1002, 1003, 1004, 1005, TCP @16:16:56',
    'More possible slow scans and sweeps follow',
  ]);
  const slow = p.events.filter((e) => e.event === 'slow_scan');
  t.is(slow.length, 8);
  t.deepEqual(
    slow.map((e) => (e as { syslog: string }).syslog),
    ['logged', 'logged', 'logged', 'logged', 'logged', 'flood-notice', 'suppressed', 'suppressed'],
  );
  t.like(slow[0], {
    event: 'slow_scan',
    family: 'ipv4',
    source: '198.19.4.1',
    destinations: ['198.18.0.1'],
    protocols: ['tcp'],
    failed: 6,
    succeeded: 0,
  });
  for (const e of p.events) t.deepEqual(schemaErrors(JSON.parse(eventLine(e))), []);
  // scanlogd's own limiter has counted none of them.
  feedLive(
    p,
    [1, 2, 3, 4, 5, 6, 7].map((port, i) => syn('198.18.3.3', port, MONO + 200_000 + i)),
  );
  t.regex(p.lines.at(-1) ?? '', /^198\.18\.3\.3:40000 to 198\.18\.0\.1 ports 1, 2, 3/);
  t.is(p.scansSuppressed, 0);
});

test("--slow-scans: a sweep of one port over five of the host's addresses, its line and event", (t) => {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { events: true, slowScans: true });
  p.refreshSockets(openPorts, MONO, WALL_MS);
  for (let i = 0; i < 5; i++) {
    const time = MONO + 1000 + i * 60_000;
    p.feed(syn('198.19.5.5', 445, time, { daddr: parseAddress(`198.18.0.${2 * i + 1}`) }), time, wallOf(time));
  }
  p.refreshSockets(openPorts, MONO + 300_000, wallOf(MONO + 300_000));
  // Cut to scanlogd's 120 characters, as its own lines are.
  t.deepEqual(p.lines, [
    '198.19.5.5 swept port 445 on 5 hosts over 4 min, 198.18.0.1, 198.18.0.3, 198.18.0.5, 198.18.0.7, ..., TCP @16:16:56',
  ]);
  t.deepEqual((p.events[0] as { destinations: string[] }).destinations, [
    '198.18.0.1',
    '198.18.0.3',
    '198.18.0.5',
    '198.18.0.7',
    '198.18.0.9',
  ]);
  t.like(p.events[0], { event: 'sweep', source: '198.19.5.5', protocol: 'tcp', port: 445, hosts: 5, failed: 5, duration_ms: 240_000 });
  t.deepEqual(schemaErrors(JSON.parse(eventLine(p.events[0]!))), []);
});

test('--slow-scans: new sources refused for want of a slot are said in one line at a read, not once each', (t) => {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS, slowSources: 16 }, { slowScans: true });
  p.refreshSockets(openPorts, MONO, WALL_MS);
  // Sixteen sources with two waiting contacts each hold every slot; then 30 more come.
  for (let s = 0; s < 46; s++) {
    for (let port = 100; port < (s < 16 ? 102 : 101); port++)
      p.feed(syn(`198.19.2.${s + 1}`, port, MONO + 10), MONO + 10, wallOf(MONO + 10));
  }
  t.deepEqual(p.lines, []);
  p.refreshSockets(openPorts, MONO + 5000, wallOf(MONO + 5000));
  t.deepEqual(p.lines, [
    'slow scans: 30 new sources not followed, every slot they could take holds a source with two failed contacts (--slow-sources 16)',
  ]);
  t.is(p.slow?.counters.sourcesRefused, 30);
});

test('--slow-scans adds its counters; without it the line is unchanged', (t) => {
  const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { slowScans: true });
  p.refreshSockets(openPorts, MONO, WALL_MS);
  const capture = { packets: 0, dropped: 0, rejected: 0, kernelDrops: new Map([['tcp4' as const, 0]]) };
  t.regex(
    countersMessage(counterFields(p, 0, capture, { json: null, syslogEventsDropped: null })),
    / bucket_evictions=0 slow_scans_detected=0 sweeps_detected=0 slow_sources_refused=0 socket_table_reads=1 slow_contacts_dropped=0 kernel_drops=0$/,
  );
  t.notRegex(countersMessage(counterFields(pipeline().p, 0, capture, { json: null, syslogEventsDropped: null })), /slow/);
});

test('--slow-scans on a device: answers leaving it judge the contacts at once, reach no other detector, and are nothing with the stage off', (t) => {
  const inside = (n: number): number => parseAddress(`198.19.5.${n}`);
  const scanner = '198.18.61.2';
  let linesAtFifth = -1;
  const run = (slowScans: boolean, answered: boolean): RecordedPipeline => {
    const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { slowScans, localOnly: false });
    p.refreshSockets(openPorts, MONO, WALL_MS);
    for (let n = 2; n < 40; n++) {
      const time = MONO + n;
      p.feed(syn(scanner, 22, time, { daddr: inside(n) }), time, wallOf(time));
      // Every inside host resets the probe; the reset leaves through the watched device.
      if (answered) {
        const answer = { type: 'answer4', host: inside(n), source: parseAddress(scanner), port: 22, sourcePort: 40000 } as const;
        p.feedAnswer({ ...answer, protocol: 'tcp', accepted: false, time: time >>> 0 }, time, wallOf(time));
      }
      if (n === 6) linesAtFifth = p.lines.length;
    }
    // One read of the socket tables a few seconds later, as the monitor makes.
    const later = MONO + 5000;
    p.refreshSockets(openPorts, later, wallOf(later));
    return p;
  };
  const answered = run(true, true);
  t.deepEqual(answered.lines, [
    `${'198.18.61.2'} swept port 22 on 5 hosts over 0 s, 198.19.5.2, 198.19.5.3, 198.19.5.4, 198.19.5.5, 198.19.5.6, TCP @16:16:55`,
  ]);
  t.is(answered.detection.packets, 38, "scanlogd's detector saw the probes and none of the answers");
  t.is(linesAtFifth, 1, "reported at the fifth host's reset, before any read of the tables");
  // Without the answers the contacts wait for their 120 s: nothing yet.
  t.deepEqual(run(true, false).lines, []);
  // With the stage off an answer changes nothing, and its detector never sees one.
  const off = run(false, true);
  t.deepEqual(off.outputs, run(false, false).outputs);
  t.is(off.detection.packets, 38);
});

/** The IPv4 ICMP host unreachable a gateway sends back for `probe` (a SYN it could not deliver), as the answers handle captures it. */
function hostUnreachable(probe: { saddr: string; daddr: string; sport: number; dport: number }, code = 1): Buffer {
  const pkt = Buffer.alloc(20 + 8 + 20 + 8);
  pkt[0] = 0x45;
  pkt.writeUInt16BE(pkt.length, 2);
  pkt[8] = 64;
  pkt[9] = 1;
  pkt.writeUInt32BE(parseAddress('198.19.5.1'), 12);
  pkt.writeUInt32BE(parseAddress(probe.saddr), 16);
  pkt[20] = 3;
  pkt[21] = code;
  const quoted = 28;
  pkt[quoted] = 0x45;
  pkt.writeUInt16BE(44, quoted + 2);
  pkt[quoted + 8] = 64;
  pkt[quoted + 9] = 6;
  pkt.writeUInt32BE(parseAddress(probe.saddr), quoted + 12);
  pkt.writeUInt32BE(parseAddress(probe.daddr), quoted + 16);
  pkt.writeUInt16BE(probe.sport, quoted + 20);
  pkt.writeUInt16BE(probe.dport, quoted + 22);
  return pkt;
}

test("--slow-scans on a device: a gateway's host unreachables refuse the sweep's waiting contacts; one for a contact not tracked changes nothing", (t) => {
  const scanner = '198.18.61.2';
  const inside = (n: number): string => `198.19.5.${n}`;
  const feedIcmp = (p: RecordedPipeline, pkt: Buffer, time: number): void => {
    const out = Buffer.alloc(RECORD_SIZE);
    t.is(answerToRecord(pkt, pkt.length, time >>> 0, out, 0, false), 'ok');
    const record = decode(out);
    if (record.type !== 'answer4') throw new Error(`not an answer: ${record.type}`);
    p.feedAnswer(record, time, wallOf(time));
  };
  // A fast sweep of port 22 across 60 addresses nobody answers ARP for, 1 ms apart; the
  // gateway answers each after 3 s of neighbour resolution, 6 at once and then 1 a second.
  const run = (unreachables: boolean, strays: boolean): { p: RecordedPipeline; linesAt: number } => {
    const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { slowScans: true, localOnly: false });
    p.refreshSockets(openPorts, MONO, WALL_MS);
    for (let n = 2; n < 62; n++) {
      const time = MONO + n;
      p.feed(syn(scanner, 22, time, { daddr: parseAddress(inside(n)), sport: 52000 }), time, wallOf(time));
    }
    if (strays) {
      const at = MONO + 1000;
      // Another source's contact, a port the scanner never probed, and an address it never
      // probed. (The contact's source port is not kept: an answer is matched by source, host and port.)
      const others = [
        { saddr: '198.18.61.3', daddr: inside(2), sport: 52000, dport: 22 },
        { saddr: scanner, daddr: inside(3), sport: 52000, dport: 23 },
        { saddr: scanner, daddr: inside(200), sport: 52000, dport: 22 },
      ];
      for (let k = 0; k < 10; k++) for (const probe of others) feedIcmp(p, hostUnreachable(probe, k % 2 === 0 ? 1 : 13), at + k);
    }
    let linesAt = -1;
    if (unreachables) {
      for (let n = 2; n < 62 && linesAt < 0; n++) {
        const time = MONO + 3000 + Math.max(0, n - 7) * 1000;
        feedIcmp(p, hostUnreachable({ saddr: scanner, daddr: inside(n), sport: 52000, dport: 22 }), time);
        if (p.lines.length > 0) linesAt = time - MONO;
      }
    }
    const later = MONO + 5000;
    p.refreshSockets(openPorts, later, wallOf(later));
    return { p, linesAt };
  };
  const answered = run(true, false);
  t.is(answered.linesAt, 3000, 'reported at the fifth host unreachable, 3 s after the probes');
  t.deepEqual(answered.p.lines, [
    `${scanner} swept port 22 on 5 hosts over 3 s, 198.19.5.2, 198.19.5.3, 198.19.5.4, 198.19.5.5, 198.19.5.6, TCP @16:16:55`,
  ]);
  t.is(answered.p.detection.packets, 60, "scanlogd's detector saw the probes and none of the ICMP errors");
  // Host unreachables for contacts the stage does not track, before the real ones: the same outputs, at the same time.
  const withStrays = run(true, true);
  t.deepEqual(withStrays.p.outputs, answered.p.outputs);
  t.is(withStrays.linesAt, 3000);
  t.deepEqual(run(false, true).p.outputs, run(false, false).p.outputs);
  t.is(run(false, true).p.detection.packets, 60);
});

/** An IPv4 TCP segment with `flags` from saddr:sport to daddr:dport, as a libpcap handle gives it. */
function segment(saddr: string, daddr: string, sport: number, dport: number, flags: number): Buffer {
  const pkt = Buffer.alloc(40);
  pkt[0] = 0x45;
  pkt.writeUInt16BE(pkt.length, 2);
  pkt[8] = 64;
  pkt[9] = 6;
  pkt.writeUInt32BE(parseAddress(saddr), 12);
  pkt.writeUInt32BE(parseAddress(daddr), 16);
  pkt.writeUInt16BE(sport, 20);
  pkt.writeUInt16BE(dport, 22);
  pkt[32] = 0x50;
  pkt[33] = flags;
  return pkt;
}

test('--slow-scans on a device: answer before contact, through the channel; each reset read before the probe it answers still judges it', (t) => {
  const scanner = '198.18.61.2';
  const inside = (n: number): string => `198.19.5.${n}`;
  // What the capture process sends when the device handle is behind: the inside hosts'
  // resets (answers handle), then the probes they answer (device handle), `lag` ms later.
  const run = (lag: number): { p: RecordedPipeline; linesAt: number } => {
    const p = new RecordedPipeline({ ...DEFAULT_PARAMS }, { slowScans: true, localOnly: false });
    p.refreshSockets(openPorts, MONO, WALL_MS);
    const channel = Buffer.alloc(2 * 10 * RECORD_SIZE);
    let at = 0;
    for (let n = 2; n < 12; n++) {
      const reset = segment(inside(n), scanner, 22, 52000, 0x14);
      t.is(answerToRecord(reset, reset.length, (MONO + n) >>> 0, channel, at, false), 'ok');
      at += RECORD_SIZE;
    }
    for (let n = 2; n < 12; n++) {
      const probe = segment(scanner, inside(n), 52000, 22, 0x02);
      t.is(packetToRecord(probe, probe.length, (MONO + n + lag) >>> 0, channel, at), 'ok');
      at += RECORD_SIZE;
    }
    const reader = new RecordReader({ udp: false, ipv6: false, answers: true });
    let linesAt = -1;
    reader.push(channel, (record) => {
      if (record.type === 'answer4') p.feedAnswer({ ...record }, record.time, wallOf(record.time));
      else if (record.type === 'tcp4') p.feed({ ...record }, record.time, wallOf(record.time));
      else throw new Error(`unexpected ${record.type}`);
      if (linesAt < 0 && p.lines.length > 0) linesAt = record.time - MONO;
    });
    return { p, linesAt };
  };
  const behind = run(30);
  t.deepEqual(behind.p.lines, [
    `${scanner} swept port 22 on 5 hosts over 0 s, 198.19.5.2, 198.19.5.3, 198.19.5.4, 198.19.5.5, 198.19.5.6, TCP @16:16:55`,
  ]);
  t.is(behind.linesAt, 6 + 30, "reported at the fifth host's probe, not 120 s later");
  t.is(behind.p.slow?.pending, 0, 'every probe judged by its reset');
  t.is(behind.p.detection.packets, 10, "scanlogd's detector saw the probes and none of the answers");
  // Resets read longer than the window before their probes answer something else: the probes wait.
  const stale = run(ANSWER_WINDOW_MS + 100);
  t.deepEqual(stale.p.lines, []);
  t.is(stale.p.slow?.pending, 10);
});
