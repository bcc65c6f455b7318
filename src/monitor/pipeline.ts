// The monitor's path from a packet record to log lines and events, without I/O:
// detection, the flood limit, the followed scans and the text of each line. Each record
// returns what is to be said, in order; the caller routes it. Fed with the clocks of
// the moment, it is deterministic to the byte.

import { wallClockAt, type Clocks } from '../shared/clock.js';
import { DAEMON_ALERT, DAEMON_INFO } from '../shared/logging.js';
import type { DetectorParams } from '../shared/params.js';
import type { PortRange } from '../shared/networks.js';
import type { Answer4Record, CaptureSocketName, PacketRecord, Summary } from '../shared/record.js';
import { TCP6, UDP4, UDP6 } from './addresses.js';
import { Detector, Ipv4Detector, type EngineCounters, type Scan, type Step } from './engine.js';
import { type CountersEvent, type MonitorEvent } from '../shared/events.js';
import { scanMessage, slowMessage } from './format.js';
import { FLOOD_MESSAGE, FloodLimiter, SLOW_FLOOD_MESSAGE } from './limiter.js';
import { SlowScanStage, refusalMessage, slowEvent, type SlowReport, type SocketRead } from './slowscan.js';
import { PortMap } from './sockets.js';
import { ScanTracker } from './tracker.js';

/** What is watched beyond scanlogd's IPv4 TCP (--udp, --ipv6), and this host's client ports. */
export interface Watch {
  udp: boolean;
  ipv6: boolean;
  /**
   * --ephemeral-ports: where this host's own UDP clients receive their replies (the
   * kernel's ip_local_port_range); null when --udp is off.
   */
  ephemeralPorts: PortRange | null;
}

export const CLASSIC_WATCH: Readonly<Watch> = { udp: false, ipv6: false, ephemeralPorts: null };

/** Below this, a source port is a service's: DNS 53, NTP 123, QUIC and DTLS 443. */
const SERVICE_PORT_LIMIT = 1024;

/**
 * Whether a UDP datagram has the shape of a reply to one of this host's clients: from
 * a service port to a port in the ephemeral range. A resolver answering a host that
 * looks up many names sends to a new ephemeral port for each query, which the port
 * rules would take for a scan. Such datagrams are not counted, so a scan of the
 * ephemeral range from a service port (`nmap -sU -g 53 -p 32768-60999`) goes unseen;
 * from a service port to ports outside the range (nmap -sU -g 53, which probes well-known
 * ports) it is still a scan.
 */
export function isClientReply(sport: number, dport: number, ephemeral: PortRange | null): boolean {
  return ephemeral !== null && sport < SERVICE_PORT_LIMIT && dport >= ephemeral.first && dport <= ephemeral.last;
}

/** One thing the monitor has to say: a syslog line at its priority, or a structured event. */
export type Output = { kind: 'line'; priority: number; text: string } | { kind: 'event'; event: MonitorEvent };

/** What most records produce. */
export const NO_OUTPUTS: readonly Output[] = Object.freeze([]);

const eventOutput = (event: MonitorEvent): Output => ({ kind: 'event', event });

/** One lane's detector, and the tracker that follows its scans when events are wanted. */
export class ScanLane<A> {
  readonly tracker: ScanTracker<A> | null;
  constructor(readonly detector: Detector<A>) {
    this.tracker = detector.step === null ? null : new ScanTracker<A>(detector);
  }
}

/** The lanes, each with tables of its own; null when switched off. */
export interface Lanes {
  /** scanlogd's own lane, IPv4 TCP: always on. */
  tcp4: ScanLane<number>;
  udp4: ScanLane<number> | null;
  tcp6: ScanLane<Uint32Array> | null;
  udp6: ScanLane<Uint32Array> | null;
}

export interface PipelineOptions {
  watch?: Readonly<Watch>;
  /** Whether structured events are wanted (--json, --json-syslog): followed scans, flood events. */
  events?: boolean;
  /** Whether the second stage runs (--slow-scans), with the parameters' slow* values. */
  slowScans?: boolean;
  /** Whether every destination is this host's (the raw socket), rather than whatever a device shows (libpcap). */
  localOnly?: boolean;
  /** This host's directed broadcast addresses, which the second stage never takes for a host. */
  broadcasts?: readonly number[];
}

/**
 * Turns each packet record into what the monitor has to say about it, in the order it
 * must be said: ends of followed scans the packet pushed out, then a detected scan's
 * line (or the flood notice), then the flood's event and the scan's own events.
 */
export class ScanPipeline {
  readonly lanes: Lanes;
  readonly limiter: FloodLimiter;
  /** The second stage and the flood limit of its own lines, or null when it is off. */
  readonly slow: SlowScanStage | null;
  private readonly slowLimiter: FloodLimiter;
  readonly watch: Readonly<Watch>;
  private readonly eventsWanted: boolean;
  /** The clocks of the record being handled (see handle). */
  private readonly clocks: Clocks = { mono: 0, wall: 0 };
  /** UDP datagrams left uncounted as replies to this host's clients. */
  udpRepliesSkipped = 0;
  linesLogged = 0;
  scansLogged = 0;
  /** Scans whose line was not logged: the one the flood notice replaced, and those after it. */
  scansSuppressed = 0;

  constructor(
    readonly params: Readonly<DetectorParams>,
    options: PipelineOptions = {},
  ) {
    const watch = options.watch ?? CLASSIC_WATCH;
    const events = options.events ?? false;
    this.watch = watch;
    this.eventsWanted = events;
    // Only a followed lane reports its steps: without events the detector pays nothing for them.
    const steps = events;
    this.lanes = {
      tcp4: new ScanLane(new Ipv4Detector(params, { steps })),
      udp4: watch.udp ? new ScanLane(new Ipv4Detector(params, { lane: UDP4, steps })) : null,
      tcp6: watch.ipv6 ? new ScanLane(new Detector(params, TCP6, { steps })) : null,
      udp6: watch.ipv6 && watch.udp ? new ScanLane(new Detector(params, UDP6, { steps })) : null,
    };
    // One limiter for every lane: it bounds what reaches syslog, whatever the scan.
    this.limiter = new FloodLimiter(params.logCount, params.logDelayMs);
    this.slow =
      options.slowScans === true
        ? new SlowScanStage(params, new PortMap(), {
            ipv6: watch.ipv6,
            localOnly: options.localOnly ?? true,
            broadcasts: options.broadcasts ?? [],
          })
        : null;
    // A limiter of its own: scanlogd's lines are counted and limited as scanlogd does,
    // whatever the second stage reports, and spoofed sources that make it report
    // cannot silence them.
    this.slowLimiter = new FloodLimiter(params.logCount, params.logDelayMs);
  }

  /**
   * One packet record. `monoNow` and `wallNowMs` are read when the records of a batch
   * arrive; the record's own capture time places the packet on the wall clock. The
   * channel refuses a record of a lane that is off, so here one is a fault of the monitor.
   */
  handle(record: PacketRecord, monoNow: number, wallNowMs: number): readonly Output[] {
    // The clocks go down as one object, and the packet's own wall-clock time is derived
    // where it is used: a double passed into a call V8 does not inline (the detector
    // and, after scans, the tracker) is boxed anew for every packet (npm run
    // bench:events shows the cost under a spoofed flood).
    const clocks = this.clocks;
    clocks.mono = monoNow;
    clocks.wall = wallNowMs;
    // The path of nearly every packet (scanlogd's own lane, no second stage) stays this
    // short so that the JIT inlines it into the record loop: as one switch with the
    // other lanes, each packet paid for a call more.
    if (record.type === 'tcp4' && this.slow === null) return this.run(this.lanes.tcp4, record, clocks);
    return this.handleOther(record, clocks);
  }

  /**
   * A host's answer that left through the watched device: the second stage's alone
   * (scanlogd's detector never sees a packet going out). It judges a waiting contact,
   * and a refusal that makes a sweep or a slow scan is reported at once.
   */
  answer(record: Answer4Record, monoNow: number, wallNowMs: number): readonly Output[] {
    if (this.slow === null) return NO_OUTPUTS;
    const clocks = this.clocks;
    clocks.mono = monoNow;
    clocks.wall = wallNowMs;
    const report = this.slow.answer4(record, wallClockAt(record.time, clocks));
    if (report === null) return NO_OUTPUTS;
    const outputs: Output[] = [];
    this.reportSlow(report, wallNowMs, outputs);
    return outputs;
  }

  /** Every other record: another lane, or any with the second stage on. */
  private handleOther(record: PacketRecord, clocks: Readonly<Clocks>): readonly Output[] {
    let outputs: readonly Output[];
    switch (record.type) {
      case 'tcp4':
        outputs = this.run(this.lanes.tcp4, record, clocks);
        return this.slow === null
          ? outputs
          : this.withSlow(outputs, this.slow.take4(record, 'tcp', wallClockAt(record.time, clocks)), clocks);
      case 'udp4':
        if (this.skipsReply(record)) return NO_OUTPUTS;
        outputs = this.run(laneOn(this.lanes.udp4, record), record, clocks);
        return this.slow === null
          ? outputs
          : this.withSlow(outputs, this.slow.take4(record, 'udp', wallClockAt(record.time, clocks)), clocks);
      case 'ip6':
        if (record.protocol === 'udp' && this.skipsReply(record)) return NO_OUTPUTS;
        outputs = this.run(laneOn(record.protocol === 'tcp' ? this.lanes.tcp6 : this.lanes.udp6, record), record, clocks);
        return this.slow === null
          ? outputs
          : this.withSlow(outputs, this.slow.take6(record, record.protocol, wallClockAt(record.time, clocks)), clocks);
    }
  }

  /** `outputs`, then those of the second stage's `report` if the packet made one (its contact judged at once by an answer read before it). */
  private withSlow(outputs: readonly Output[], report: SlowReport | null, clocks: Readonly<Clocks>): readonly Output[] {
    if (report === null) return outputs;
    const all = [...outputs];
    this.reportSlow(report, clocks.wall, all);
    return all;
  }

  private skipsReply(record: Summary<unknown>): boolean {
    if (!isClientReply(record.sport, record.dport, this.watch.ephemeralPorts)) return false;
    this.udpRepliesSkipped++;
    return true;
  }

  private eachLane(): Array<ScanLane<number> | ScanLane<Uint32Array>> {
    const { tcp4, udp4, tcp6, udp6 } = this.lanes;
    return [tcp4, udp4, tcp6, udp6].filter((lane) => lane !== null);
  }

  /** Every lane's detector counters, summed. */
  get detection(): EngineCounters {
    const sum: EngineCounters = { packets: 0, bucketEvictions: 0, slotReuses: 0, scans: 0 };
    for (const { detector } of this.eachLane()) {
      sum.packets += detector.counters.packets;
      sum.bucketEvictions += detector.counters.bucketEvictions;
      sum.slotReuses += detector.counters.slotReuses;
      sum.scans += detector.counters.scans;
    }
    return sum;
  }

  private run<A extends number | Uint32Array>(lane: ScanLane<A>, record: Summary<A>, clocks: Readonly<Clocks>): readonly Output[] {
    const detector = lane.detector;
    const scan = detector.process(record, clocks);
    const tracker = lane.tracker;
    let ends = NO_OUTPUTS;
    if (tracker !== null) {
      const ended = tracker.follow(detector.step as Step, record, clocks);
      if (ended.length !== 0) ends = ended.map(eventOutput);
    }
    return scan === null ? ends : this.scanned(scan, record, wallClockAt(record.time, clocks), tracker, ends);
  }

  /** What a detected scan makes the monitor say, after `ends`: its line (or the notice), then its events. */
  private scanned<A extends number | Uint32Array>(
    scan: Scan<A>,
    record: Summary<A>,
    wallMs: number,
    tracker: ScanTracker<A> | null,
    ends: readonly Output[],
  ): Output[] {
    this.slow?.silence(record.saddr);
    const outputs = [...ends];
    const { verdict, flood } = this.limiter.decide(scan.time, wallMs);
    switch (verdict) {
      case 'logged':
        this.linesLogged++;
        this.scansLogged++;
        outputs.push({ kind: 'line', priority: DAEMON_ALERT, text: scanMessage(scan, this.params.logMaxLength) });
        break;
      case 'flood-notice':
        this.linesLogged++;
        this.scansSuppressed++;
        outputs.push({ kind: 'line', priority: DAEMON_ALERT, text: FLOOD_MESSAGE });
        break;
      case 'suppressed':
        this.scansSuppressed++;
        break;
    }
    // A scan's line goes out before its events (and the flood's), so that a reader of
    // syslog sees the classic line first.
    if (this.eventsWanted && flood !== null) outputs.push(eventOutput(flood));
    if (tracker !== null) for (const event of tracker.detected(scan, record, verdict, wallMs)) outputs.push(eventOutput(event));
    return outputs;
  }

  /**
   * Reads this host's socket tables through `read` (which feeds each row to the sink it
   * is given) and returns what the second stage, judging the contacts that waited for
   * them, has to say. Only with the stage on.
   */
  refreshSockets(read: SocketRead, monoNow: number, wallNowMs: number): readonly Output[] {
    if (this.slow === null) return NO_OUTPUTS;
    const reports = this.slow.refresh(read, monoNow, wallNowMs);
    const refused = this.slow.refusalsToSay(monoNow);
    if (reports.length === 0 && refused === 0) return NO_OUTPUTS;
    const outputs: Output[] = [];
    for (const report of reports) this.reportSlow(report, wallNowMs, outputs);
    if (refused > 0) outputs.push({ kind: 'line', priority: DAEMON_INFO, text: refusalMessage(refused, this.params.slowSources) });
    return outputs;
  }

  private reportSlow(report: SlowReport, wallMs: number, outputs: Output[]): void {
    const { verdict } = this.slowLimiter.decide(report.time, wallMs);
    if (verdict !== 'suppressed') {
      const text = verdict === 'logged' ? slowMessage(report, this.params.logMaxLength) : SLOW_FLOOD_MESSAGE;
      outputs.push({ kind: 'line', priority: DAEMON_ALERT, text });
      this.linesLogged++;
    }
    if (this.eventsWanted) outputs.push(eventOutput(slowEvent(report, verdict, wallMs)));
  }

  /**
   * Ends what went quiet by `monoNow` although no packet arrived to show it: followed
   * scans past the delay, and a flood window past the log delay.
   */
  sweep(monoNow: number, wallNowMs: number): readonly Output[] {
    const outputs: Output[] = [];
    for (const { tracker } of this.eachLane()) {
      if (tracker !== null) for (const end of tracker.sweep(monoNow, wallNowMs)) outputs.push(eventOutput(end));
    }
    const flood = this.limiter.sweep(monoNow, wallNowMs);
    if (this.eventsWanted && flood !== null) outputs.push(eventOutput(flood));
    this.slowLimiter.sweep(monoNow, wallNowMs);
    return outputs;
  }
}

function laneOn<A>(lane: ScanLane<A> | null, record: PacketRecord): ScanLane<A> {
  if (lane === null) throw new Error(`a ${record.type} record reached detection, but its lane is off`);
  return lane;
}

/** What the capture process reported in its counters and kernel drops records, summed. */
export interface CaptureCounts {
  packets: number;
  dropped: number;
  rejected: number;
  /** Packets the kernel dropped on each capture socket the capture process holds, scanlogd's first. */
  kernelDrops: Map<CaptureSocketName, number>;
}

/** What the monitor's own outputs count, where they are on. */
export interface OutputCounts {
  /** --json: lines written and dropped. */
  json: { written: number; dropped: number } | null;
  /** --json-syslog: events the syslog queue had to drop. */
  syslogEventsDropped: number | null;
}

/** The counters, by name, in the order the line gives them. */
export function counterFields(
  pipeline: ScanPipeline,
  received: number,
  capture: CaptureCounts,
  outputs: OutputCounts,
): Array<[string, number]> {
  const c = pipeline.detection;
  const fields: Array<[string, number]> = [
    ['packets_seen', capture.packets],
    ['packets_rejected', capture.rejected],
    ['records_received', received],
    ['records_dropped_by_capture', capture.dropped],
    ['scans_detected', c.scans],
    ['scans_logged', pipeline.scansLogged],
    ['scans_suppressed', pipeline.scansSuppressed],
    ['table_reuses', c.slotReuses],
    ['bucket_evictions', c.bucketEvictions],
  ];
  if (pipeline.watch.udp) fields.push(['udp_replies_skipped', pipeline.udpRepliesSkipped]);
  const slow = pipeline.slow?.counters;
  if (slow !== undefined) {
    fields.push(
      ['slow_scans_detected', slow.slowScans],
      ['sweeps_detected', slow.sweeps],
      ['slow_sources_refused', slow.sourcesRefused],
      ['socket_table_reads', slow.refreshes],
      ['slow_contacts_dropped', slow.contactsDropped],
    );
  }
  if (outputs.json !== null) fields.push(['json_lines_written', outputs.json.written], ['json_lines_dropped', outputs.json.dropped]);
  if (outputs.syslogEventsDropped !== null) fields.push(['syslog_events_dropped', outputs.syslogEventsDropped]);
  // Lost before the capture process read them: the total, and each socket's where there are several.
  let kernelDrops = 0;
  for (const count of capture.kernelDrops.values()) kernelDrops += count;
  fields.push(['kernel_drops', kernelDrops]);
  if (capture.kernelDrops.size > 1) for (const [socket, count] of capture.kernelDrops) fields.push([`kernel_drops_${socket}`, count]);
  return fields;
}

/** The counters line (logged at daemon.info on SIGUSR1 and every --stats-interval). */
export function countersMessage(fields: Array<[string, number]>): string {
  return `counters: ${fieldsText(fields)}`;
}

/** The figures as "name=value" words. */
export function fieldsText(fields: Array<[string, number]>): string {
  return fields.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** The same figures as a structured event. */
export function countersEvent(fields: Array<[string, number]>, wallMs: number): CountersEvent {
  return { event: 'counters', time: wallMs, ...Object.fromEntries(fields) };
}
