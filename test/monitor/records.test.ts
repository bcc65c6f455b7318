// The monitor's record loop, as runMonitor drives it, with the channel's bytes given
// by the test and its outputs collected: who is blamed when it stops (a refused record
// is the capture process's fault, anything thrown past the reader the monitor's own),
// and what the loss and counters records make it say.

import test from 'ava';
import { DEFAULT_PARAMS } from '../../src/shared/params.js';
import { EXIT_INTERNAL_FAULT, EXIT_REFUSED_RECORD } from '../../src/shared/exits.js';
import { RecordError, captureSockets, encode, type CaptureSocketName, type Tcp4Record } from '../../src/shared/record.js';
import { RecordReader } from '../../src/monitor/channel.js';
import { ScanPipeline, type Output } from '../../src/monitor/pipeline.js';
import { RecordLoop, type OutputSink } from '../../src/monitor/records.js';
import { eventLine } from '../../src/shared/events.js';
import { schemaErrors } from '../helpers/event-schema.js';

const MONO = 5000000;
const WALL_MS = Date.UTC(2024, 10, 25, 16, 16, 55, 0);

const syn = (n: number, dport = 20 + n): Tcp4Record => ({
  type: 'tcp4',
  saddr: 0xc6120002,
  daddr: 0xc6120001,
  sport: 40000,
  dport,
  flags: 0x02,
  tos: 0,
  ttl: 64,
  time: MONO + n,
});

/** Collects what the loop routes and the faults it reports. */
class Sink implements OutputSink {
  readonly outputs: Output[] = [];
  readonly faults: string[] = [];
  route(outputs: readonly Output[]): void {
    this.outputs.push(...outputs);
  }
  fault(text: string): void {
    this.faults.push(text);
  }
  counts(): { json: null; syslogEventsDropped: null } {
    return { json: null, syslogEventsDropped: null };
  }
}

function loop(pipeline = new ScanPipeline({ ...DEFAULT_PARAMS })): { loop: RecordLoop; sink: Sink; pipeline: ScanPipeline } {
  const sink = new Sink();
  return { loop: new RecordLoop(new RecordReader(), pipeline, sink), sink, pipeline };
}

const scanBytes = (): Buffer => Buffer.concat(Array.from({ length: 7 }, (_, n) => encode(syn(n))));

test('a scan on the channel is routed as its line; the loop goes on', (t) => {
  const { loop: l, sink } = loop();
  t.is(l.push(scanBytes(), MONO + 10, WALL_MS), null);
  t.deepEqual(
    sink.outputs.map((o) => (o.kind === 'line' ? o.priority : o.kind)),
    [25],
  );
  t.deepEqual(sink.faults, []);
});

test('an exception planted in the engine is the monitor’s own fault (status 70), not the capture process’s', (t) => {
  const pipeline = new ScanPipeline({ ...DEFAULT_PARAMS });
  const detector = pipeline.lanes.tcp4.detector;
  const process = detector.process.bind(detector);
  detector.process = (pkt, clocks) => {
    if (pkt.dport === 31337) throw new TypeError('planted in the engine');
    return process(pkt, clocks);
  };
  const { loop: l, sink } = loop(pipeline);
  const stop = l.push(Buffer.concat([encode(syn(0)), encode(syn(1, 31337)), encode(syn(2))]), MONO + 10, WALL_MS);
  t.like(stop, { status: EXIT_INTERNAL_FAULT, why: 'internal fault: planted in the engine' });
  t.regex(stop?.stack ?? '', /TypeError: planted in the engine\n\s+at /);
  t.notRegex(stop?.why ?? '', /capture/);
  t.deepEqual(sink.faults, [], 'said once, by runMonitor on the way out');
});

test('a RecordError thrown past the reader is the monitor’s own fault: only the reader refuses records', (t) => {
  const pipeline = new ScanPipeline({ ...DEFAULT_PARAMS });
  pipeline.handle = () => {
    throw new RecordError('planted past the reader');
  };
  const { loop: l } = loop(pipeline);
  t.like(l.push(encode(syn(0)), MONO, WALL_MS), { status: EXIT_INTERNAL_FAULT, why: 'internal fault: planted past the reader' });
});

test('an exception thrown while routing an output is the monitor’s own fault too', (t) => {
  const { loop: l, sink } = loop();
  sink.route = () => {
    throw new Error('planted in an output');
  };
  t.like(l.push(scanBytes(), MONO + 10, WALL_MS), { status: EXIT_INTERNAL_FAULT, why: 'internal fault: planted in an output' });
});

test('a record that does not decode is the capture process’s fault (status 65), after the records before it', (t) => {
  const { loop: l, sink } = loop();
  const bytes = scanBytes();
  bytes[6 * 20 + 15] = 9;
  t.deepEqual(l.push(bytes, MONO + 10, WALL_MS), {
    status: EXIT_REFUSED_RECORD,
    why: 'bad record from the capture process: record type 9 is unknown',
    stack: null,
  });
  t.is(sink.outputs.length, 0, 'six ports are no scan; the seventh never arrived');
});

test('a record of a lane that is off is refused as the capture process’s fault', (t) => {
  const { loop: l } = loop();
  const udp = encode({ ...syn(0), type: 'udp4', flags: 0 });
  t.like(l.push(udp, MONO, WALL_MS), {
    status: EXIT_REFUSED_RECORD,
    why: 'bad record from the capture process: an IPv4 UDP record arrived, but the daemon runs without --udp',
  });
});

test('a loss record is said as a fault of the daemon, and the loop goes on', (t) => {
  const { loop: l, sink } = loop();
  t.is(l.push(encode({ type: 'loss', count: 42, time: MONO }), MONO, WALL_MS), null);
  t.deepEqual(sink.faults, ['capture process dropped 42 packets while the monitor was not reading']);
});

test('counters records add up; one with the log byte makes the counters line (daemon.info) and its event', (t) => {
  const { loop: l, sink } = loop();
  const counters = (log: boolean): Buffer => encode({ type: 'counters', packets: 10, dropped: 1, rejected: 2, log, time: MONO });
  t.is(l.push(Buffer.concat([counters(false), encode(syn(0)), counters(true)]), MONO, WALL_MS), null);
  const [line, event] = sink.outputs;
  t.like(line, {
    kind: 'line',
    priority: 30,
    text:
      'counters: packets_seen=20 packets_rejected=4 records_received=1 records_dropped_by_capture=2 ' +
      'scans_detected=0 scans_logged=0 scans_suppressed=0 table_reuses=0 bucket_evictions=0 kernel_drops=0',
  });
  t.like(event, { kind: 'event', event: { event: 'counters', time: WALL_MS, packets_seen: 20 } });
});

test("kernel drops records add up per socket: the total after the existing counters, each socket's where there are several", (t) => {
  const pipeline = new ScanPipeline({ ...DEFAULT_PARAMS }, { watch: { udp: true, ipv6: true, ephemeralPorts: null } });
  const sink = new Sink();
  const sockets = captureSockets({ udp: true, ipv6: true }, false);
  const l = new RecordLoop(new RecordReader({ udp: true, ipv6: true }, sockets), pipeline, sink, sockets);
  const drops = (socket: CaptureSocketName, count: number): Buffer => encode({ type: 'kernelDrops', socket, count, time: MONO });
  const counters = encode({ type: 'counters', packets: 0, dropped: 0, rejected: 0, log: true, time: MONO });
  t.is(l.push(Buffer.concat([drops('tcp4', 7), drops('udp6', 0xffffffff), drops('tcp4', 3), counters]), MONO, WALL_MS), null);
  const [line, event] = sink.outputs;
  t.regex(
    line?.kind === 'line' ? line.text : '',
    new RegExp(
      ` bucket_evictions=0 udp_replies_skipped=0 kernel_drops=${10 + 0xffffffff} kernel_drops_tcp4=10 kernel_drops_udp4=0 kernel_drops_tcp6=0 kernel_drops_udp6=4294967295$`,
    ),
  );
  t.like(event, { kind: 'event', event: { kernel_drops: 10 + 0xffffffff, kernel_drops_tcp4: 10, kernel_drops_udp6: 0xffffffff } });
  t.deepEqual(event?.kind === 'event' ? schemaErrors(JSON.parse(eventLine(event.event))) : ['no event'], []);
});

test('with libpcap the one handle is the total, with no field per socket', (t) => {
  const sink = new Sink();
  const l = new RecordLoop(new RecordReader(undefined, ['pcap']), new ScanPipeline({ ...DEFAULT_PARAMS }), sink, ['pcap']);
  const records = [
    encode({ type: 'kernelDrops', socket: 'pcap', count: 99, time: MONO }),
    encode({ type: 'counters', packets: 0, dropped: 0, rejected: 0, log: true, time: MONO }),
  ];
  t.is(l.push(Buffer.concat(records), MONO, WALL_MS), null);
  t.regex(sink.outputs[0]?.kind === 'line' ? sink.outputs[0].text : '', / bucket_evictions=0 kernel_drops=99$/);
});

test('a flood of 200 loss reports makes five lines, then one that says how many were merged and their packets, once the window closes', (t) => {
  const { loop: l, sink } = loop();
  const losses = Buffer.concat(Array.from({ length: 200 }, () => encode({ type: 'loss', count: 7, time: MONO })));
  t.is(l.push(losses, MONO, WALL_MS), null);
  t.deepEqual(sink.faults, Array(5).fill('capture process dropped 7 packets while the monitor was not reading'));
  l.closeReportWindow(MONO + 19999);
  t.is(sink.faults.length, 5, 'the window is open for 20 s');
  l.closeReportWindow(MONO + 20000);
  t.deepEqual(sink.faults.slice(5), [
    '195 more loss, counters and SIGHUP reports from the capture process merged (at most 5 lines in 20 s): 1365 packets dropped while the monitor was not reading',
  ]);
  // A report after that is said again, the merged line first if one was held.
  t.is(l.push(encode({ type: 'loss', count: 1, time: MONO }), MONO + 20001, WALL_MS), null);
  t.is(sink.faults.at(-1), 'capture process dropped 1 packets while the monitor was not reading');
});

test('counters requests share the limit with loss reports; merged ones still add up into the next counters line', (t) => {
  const { loop: l, sink } = loop();
  const counters = encode({ type: 'counters', packets: 10, dropped: 1, rejected: 2, log: true, time: MONO });
  const loss = encode({ type: 'loss', count: 3, time: MONO });
  t.is(l.push(Buffer.concat([loss, loss, loss, ...Array<Buffer>(100).fill(counters)]), MONO, WALL_MS), null);
  t.is(sink.faults.length, 3);
  t.is(sink.outputs.filter((o) => o.kind === 'line').length, 2, 'two counters lines: five reports in all');
  l.closeReportWindow(MONO + 20000);
  t.is(
    sink.faults.at(-1),
    '98 more loss, counters and SIGHUP reports from the capture process merged (at most 5 lines in 20 s): 0 packets dropped while the monitor was not reading',
  );
  t.is(l.push(counters, MONO + 20001, WALL_MS), null);
  const last = sink.outputs.at(-2);
  t.true(last?.kind === 'line' && last.text.startsWith('counters: packets_seen=1010 '), JSON.stringify(last));
});

test('at a stop, what the report limit merged so far is said at once', (t) => {
  const { loop: l, sink } = loop();
  const losses = Buffer.concat(Array.from({ length: 8 }, () => encode({ type: 'loss', count: 2, time: MONO })));
  t.is(l.push(losses, MONO, WALL_MS), null);
  l.endReportWindow();
  t.deepEqual(sink.faults.slice(5), [
    '3 more loss, counters and SIGHUP reports from the capture process merged (at most 5 lines in 20 s): 6 packets dropped while the monitor was not reading',
  ]);
  l.endReportWindow();
  t.is(sink.faults.length, 6, 'said once');
});

test('SIGHUPs the capture process passes on share its reports limit: five lines in a window, the rest merged', (t) => {
  const { loop: l, sink } = loop();
  const admitted = Array.from({ length: 200 }, () => l.admitRelayedSighup(MONO)).filter(Boolean).length;
  t.is(admitted, 5);
  const loss = encode({ type: 'loss', count: 4, time: MONO });
  t.is(l.push(loss, MONO + 1, WALL_MS), null);
  t.is(sink.faults.length, 0, 'the loss report falls in the same full window');
  t.true(l.admitRelayedSighup(MONO + 20000), 'a new window after the first ran out');
  t.deepEqual(sink.faults, [
    '196 more loss, counters and SIGHUP reports from the capture process merged (at most 5 lines in 20 s): 4 packets dropped while the monitor was not reading',
  ]);
});
