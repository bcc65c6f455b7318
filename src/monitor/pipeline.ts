// The monitor's path from a packet record to log lines and events, without I/O:
// detection, the flood limit, the followed scans and the text of each line. Fed with
// the clocks of the moment, it is deterministic to the byte.

import { elapsed } from '../shared/clock.js';
import type { DetectorParams } from '../shared/params.js';
import type { PortRange } from '../shared/allowlist.js';
import { RecordError, type Packet6Record, type PacketSummary, type Summary } from '../shared/record.js';
import { TCP4, TCP6, UDP4, UDP6, type Lane } from './addresses.js';
import { Detector, LaneDetector, type EngineCounters } from './engine.js';
import type { CountersEvent, MonitorEvent } from '../shared/events.js';
import { scanMessage } from './format.js';
import { FLOOD_MESSAGE, FloodLimiter } from './limiter.js';
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

function laneOn<A>(runner: LaneRunner<A> | null, what: string, options: string): LaneRunner<A> {
  if (runner === null) throw new RecordError(`${what} arrived, but the daemon runs without ${options}`);
  return runner;
}

/** A detector with the tracker that follows its scans, if events are wanted. */
interface LaneRunner<A> {
  detector: LaneDetector<A>;
  tracker: ScanTracker<A> | null;
}

export class ScanPipeline {
  /** scanlogd's own lane, IPv4 TCP. */
  readonly detector: Detector;
  /** The other lanes, each with tables of its own, when switched on. */
  readonly udp4: Detector | null;
  readonly tcp6: LaneDetector<Uint32Array> | null;
  readonly udp6: LaneDetector<Uint32Array> | null;
  readonly limiter: FloodLimiter;
  /** Present only when structured events are wanted. */
  readonly tracker: ScanTracker | null;
  /** UDP datagrams left uncounted as replies to this host's clients. */
  udpRepliesSkipped = 0;
  private readonly tcp4Runner: LaneRunner<number>;
  private readonly udp4Runner: LaneRunner<number> | null;
  private readonly tcp6Runner: LaneRunner<Uint32Array> | null;
  private readonly udp6Runner: LaneRunner<Uint32Array> | null;
  linesLogged = 0;
  scansLogged = 0;
  /** Scans whose line was not logged: the one the flood notice replaced, and those after it. */
  scansSuppressed = 0;
  /** Events of the scan being decided, held until its line is out. */
  private readonly held: MonitorEvent[] = [];
  private holding = false;

  constructor(
    readonly params: Readonly<DetectorParams>,
    private readonly emit: (message: string) => void,
    private readonly events: ((event: MonitorEvent) => void) | null = null,
    readonly watch: Readonly<Watch> = CLASSIC_WATCH,
  ) {
    const deliver = events === null ? null : (event: MonitorEvent): void => this.deliver(event);
    const tracker = <A>(lane: Lane<A>): ScanTracker<A> | null =>
      deliver === null ? null : new ScanTracker<A>(params, deliver, undefined, lane);
    const runner4 = (lane: Lane<number>): { detector: Detector; tracker: ScanTracker | null } => {
      const t = tracker(lane);
      return { detector: new Detector(params, t, undefined, lane), tracker: t };
    };
    const runner6 = (lane: Lane<Uint32Array>): LaneRunner<Uint32Array> => {
      const t = tracker(lane);
      // null: IPv6 lanes draw a key of their own (always keyed).
      return { detector: new LaneDetector<Uint32Array>(params, t, null, lane), tracker: t };
    };
    const tcp4 = runner4(TCP4);
    const udp4 = watch.udp ? runner4(UDP4) : null;
    this.tcp4Runner = tcp4;
    this.udp4Runner = udp4;
    this.tcp6Runner = watch.ipv6 ? runner6(TCP6) : null;
    this.udp6Runner = watch.ipv6 && watch.udp ? runner6(UDP6) : null;
    this.detector = tcp4.detector;
    this.tracker = tcp4.tracker;
    this.udp4 = udp4?.detector ?? null;
    this.tcp6 = this.tcp6Runner?.detector ?? null;
    this.udp6 = this.udp6Runner?.detector ?? null;
    // One limiter for every lane: it bounds what reaches syslog, whatever the scan.
    this.limiter = new FloodLimiter(params.logCount, params.logDelayMs, deliver);
  }

  /**
   * An IPv4 TCP packet. `monoNow` and `wallNowMs` are read when the records of a
   * batch arrive; the record's own capture time places the packet on the wall clock.
   */
  feed(record: PacketSummary, monoNow: number, wallNowMs: number): void {
    this.run(this.tcp4Runner, record, monoNow, wallNowMs);
  }

  /**
   * An IPv4 UDP datagram. The capture process sends one only with --udp: one that
   * comes anyway is a fault of the channel (a RecordError), not something to skip.
   */
  feedUdp(record: PacketSummary, monoNow: number, wallNowMs: number): void {
    const runner = laneOn(this.udp4Runner, 'an IPv4 UDP record', '--udp');
    if (!this.skipsReply(record)) this.run(runner, record, monoNow, wallNowMs);
  }

  /** An IPv6 TCP segment or UDP datagram, sent only with --ipv6 (and --udp for UDP). */
  feed6(record: Packet6Record, monoNow: number, wallNowMs: number): void {
    if (record.protocol === 'tcp') {
      this.run(laneOn(this.tcp6Runner, 'an IPv6 TCP record', '--ipv6'), record, monoNow, wallNowMs);
    } else {
      const runner = laneOn(this.udp6Runner, 'an IPv6 UDP record', '--ipv6 --udp');
      if (!this.skipsReply(record)) this.run(runner, record, monoNow, wallNowMs);
    }
  }

  private skipsReply(record: Summary<unknown>): boolean {
    if (!isClientReply(record.sport, record.dport, this.watch.ephemeralPorts)) return false;
    this.udpRepliesSkipped++;
    return true;
  }

  /** Every lane's detector counters, summed. */
  get detection(): EngineCounters {
    const sum: EngineCounters = { packets: 0, bucketEvictions: 0, slotReuses: 0, scans: 0 };
    for (const d of [this.detector, this.udp4, this.tcp6, this.udp6]) {
      if (d === null) continue;
      sum.packets += d.counters.packets;
      sum.bucketEvictions += d.counters.bucketEvictions;
      sum.slotReuses += d.counters.slotReuses;
      sum.scans += d.counters.scans;
    }
    return sum;
  }

  private run<A extends number | Uint32Array>(runner: LaneRunner<A>, record: Summary<A>, monoNow: number, wallNowMs: number): void {
    // A record stamped after the monitor's clock (the other process read it later) is
    // placed at the monitor's time rather than in the future.
    const wallMs = wallNowMs - Math.max(0, elapsed(monoNow, record.time));
    const scan = runner.detector.process(record, wallMs);
    if (scan === null) return;
    // A scan's line goes out before its events (and the flood's), so that a reader of
    // syslog sees the classic line first.
    this.holding = true;
    const verdict = this.limiter.decide(scan.time, wallMs);
    runner.tracker?.detected(scan, record, verdict, wallMs);
    this.holding = false;
    switch (verdict) {
      case 'logged':
        this.linesLogged++;
        this.scansLogged++;
        this.emit(scanMessage(scan, this.params.logMaxLength));
        break;
      case 'flood-notice':
        this.linesLogged++;
        this.scansSuppressed++;
        this.emit(FLOOD_MESSAGE);
        break;
      case 'suppressed':
        this.scansSuppressed++;
        break;
    }
    for (const event of this.held) this.events?.(event);
    this.held.length = 0;
  }

  private deliver(event: MonitorEvent): void {
    if (this.holding) this.held.push(event);
    else this.events?.(event);
  }

  /**
   * Ends what went quiet by `monoNow` although no packet arrived to show it: followed
   * scans past the delay, and a flood window past the log delay.
   */
  sweep(monoNow: number, wallNowMs: number): void {
    for (const runner of [this.tcp4Runner, this.udp4Runner, this.tcp6Runner, this.udp6Runner]) runner?.tracker?.sweep(monoNow, wallNowMs);
    this.limiter.sweep(monoNow, wallNowMs);
  }
}

/** What the capture process reported in its counters records, summed. */
export interface CaptureCounts {
  packets: number;
  dropped: number;
  rejected: number;
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
  if (outputs.json !== null) fields.push(['json_lines_written', outputs.json.written], ['json_lines_dropped', outputs.json.dropped]);
  if (outputs.syslogEventsDropped !== null) fields.push(['syslog_events_dropped', outputs.syslogEventsDropped]);
  return fields;
}

/** The counters line (logged at daemon.info on SIGUSR1 and every --stats-interval). */
export function countersMessage(fields: Array<[string, number]>): string {
  return `counters: ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

/** The same figures as a structured event. */
export function countersEvent(fields: Array<[string, number]>, wallMs: number): CountersEvent {
  return { event: 'counters', time: wallMs, ...Object.fromEntries(fields) };
}
