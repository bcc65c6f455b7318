// What the 120-character line has no room for: every destination and port of a
// detected scan, its packet count and times, and how far it went once it goes quiet.
// Fed by the engine as its observer; pure (times in, events out), memory fixed at start.

import { elapsed } from '../shared/clock.js';
import type { DetectorParams } from '../shared/params.js';
import type { Summary } from '../shared/record.js';
import { TCP4, type Lane } from './addresses.js';
import { CHANGING_SPORT, CHANGING_TOS, CHANGING_TTL, type EngineObserver, type ReleaseReason, type Scan } from './engine.js';
import {
  MAX_DESTINATIONS,
  MAX_PORT_RANGES,
  PORT_RANGE_SEPARATOR,
  type EndReason,
  type MonitorEvent,
  type SyslogVerdict,
} from '../shared/events.js';
import { flagString } from './format.js';

/** Detected scans followed at once, each with a 65536-bit port set (8 KiB). */
export const MAX_TRACKED_SCANS = 256;

const PORT_SET_WORDS = 65536 / 32;

const FREE = 0;
const COUNTING = 1;
const DETECTED = 2;
/** Reported as ended; the engine still holds the entry, its packets are not counted. */
const ENDED = 3;

const endReason: Record<ReleaseReason, EndReason> = {
  stale: 'quiet',
  'bucket-full': 'bucket-full',
  'slot-reused': 'entry-reused',
};

/** "1-20,22,80": runs of consecutive ports, at most `maxRanges` of them. */
export function portRanges(set: Uint32Array, maxRanges: number): { text: string; truncated: boolean } {
  const parts: string[] = [];
  let start = -1;
  for (let w = 0; w < set.length; w++) {
    const word = set[w] as number;
    // Whole words of zeros or ones are common (no probes, or a full range).
    if (word === 0 && start < 0) continue;
    if (word === 0xffffffff && start >= 0) continue;
    for (let b = 0; b < 32; b++) {
      const port = w * 32 + b;
      const on = ((word >>> b) & 1) !== 0;
      if (on && start < 0) {
        if (parts.length === maxRanges) return { text: parts.join(PORT_RANGE_SEPARATOR), truncated: true };
        start = port;
      } else if (!on && start >= 0) {
        parts.push(start === port - 1 ? String(start) : `${start}-${port - 1}`);
        start = -1;
      }
    }
  }
  if (start >= 0) parts.push(start === 65535 ? '65535' : `${start}-65535`);
  return { text: parts.join(PORT_RANGE_SEPARATOR), truncated: false };
}

export class ScanTracker<A = number> implements EngineObserver<A> {
  readonly counters = { scanEvents: 0, endEvents: 0, trackerFull: 0 };

  private readonly state: Uint8Array;
  private readonly saddr: Uint32Array;
  private readonly packets: Float64Array;
  private readonly firstWall: Float64Array;
  private readonly lastWall: Float64Array;
  /** Monotonic time of the last packet that renewed the engine's timestamp. */
  private readonly refreshed: Uint32Array;
  private readonly dests: Uint32Array;
  private readonly destCount: Uint8Array;
  private readonly destTruncated: Uint8Array;
  /** Port set of each slot in DETECTED state, or -1. */
  private readonly setOf: Int32Array;

  // The pool of port sets, with the slot each serves (or -1) and when it was taken.
  private readonly portSets: Uint32Array;
  private readonly setCount: Int32Array;
  private readonly setSlot: Int32Array;
  private readonly setSince: Float64Array;
  private setSequence = 0;

  constructor(
    private readonly params: Readonly<DetectorParams>,
    private readonly emit: (event: MonitorEvent) => void,
    private readonly maxScans = Math.min(params.listSize, MAX_TRACKED_SCANS),
    /** The detector's lane: how addresses are kept, and what the events say. */
    private readonly lane: Lane<A> = TCP4 as unknown as Lane<A>,
  ) {
    const n = params.listSize;
    const words = lane.family.words;
    this.state = new Uint8Array(n);
    this.saddr = new Uint32Array(n * words);
    this.packets = new Float64Array(n);
    this.firstWall = new Float64Array(n);
    this.lastWall = new Float64Array(n);
    this.refreshed = new Uint32Array(n);
    this.dests = new Uint32Array(n * MAX_DESTINATIONS * words);
    this.destCount = new Uint8Array(n);
    this.destTruncated = new Uint8Array(n);
    this.setOf = new Int32Array(n).fill(-1);
    this.portSets = new Uint32Array(this.maxScans * PORT_SET_WORDS);
    this.setCount = new Int32Array(this.maxScans);
    this.setSlot = new Int32Array(this.maxScans).fill(-1);
    this.setSince = new Float64Array(this.maxScans);
  }

  /** Bytes of the fixed tables, for the documented bound. */
  get tableBytes(): number {
    return (
      this.state.byteLength +
      this.saddr.byteLength +
      this.packets.byteLength +
      this.firstWall.byteLength +
      this.lastWall.byteLength +
      this.refreshed.byteLength +
      this.dests.byteLength +
      this.destCount.byteLength +
      this.destTruncated.byteLength +
      this.setOf.byteLength +
      this.portSets.byteLength +
      this.setCount.byteLength +
      this.setSlot.byteLength +
      this.setSince.byteLength
    );
  }

  opened(slot: number, pkt: Summary<A>, wallMs: number): void {
    const family = this.lane.family;
    this.state[slot] = COUNTING;
    family.store(this.saddr, slot, pkt.saddr);
    this.packets[slot] = 1;
    this.firstWall[slot] = wallMs;
    this.lastWall[slot] = wallMs;
    this.refreshed[slot] = pkt.time;
    family.store(this.dests, slot * MAX_DESTINATIONS, pkt.daddr);
    this.destCount[slot] = 1;
    this.destTruncated[slot] = 0;
  }

  probe(slot: number, pkt: Summary<A>, refreshed: boolean, wallMs: number): void {
    const state = this.state[slot] as number;
    if (state !== COUNTING && state !== DETECTED) return;
    this.packets[slot] = (this.packets[slot] as number) + 1;
    this.lastWall[slot] = wallMs;
    if (refreshed) this.refreshed[slot] = pkt.time;
    this.addDestination(slot, pkt.daddr);
    if (state === DETECTED) this.addPort(this.setOf[slot] as number, pkt.dport);
  }

  released(slot: number, reason: ReleaseReason, wallMs: number): void {
    if (this.state[slot] === DETECTED) this.end(slot, endReason[reason], wallMs);
    this.state[slot] = FREE;
  }

  /**
   * The engine reported `scan`, made by `pkt` at `wallMs`; `verdict` is what the flood
   * limit did with its line. Emits the scan event and follows the scan to its end.
   */
  detected(scan: Scan<A>, pkt: Summary<A>, verdict: SyslogVerdict, wallMs: number): void {
    const slot = scan.slot;
    if (this.state[slot] !== COUNTING) return;
    const ports = [...scan.ports, pkt.dport];
    // Taking a port set may end the oldest followed scan; its end comes first.
    const set = this.takePortSet(wallMs);
    this.counters.scanEvents++;
    this.emit({
      event: 'scan',
      time: wallMs,
      family: this.lane.family.name,
      protocol: this.lane.protocol,
      source: this.lane.family.format(scan.saddr),
      source_port: scan.changing & CHANGING_SPORT ? null : scan.sport,
      destinations: this.destinations(slot),
      destinations_truncated: this.destTruncated[slot] === 1,
      ports,
      flags: flagString(scan.flagsOr, scan.flagsAnd),
      flags_or: scan.flagsOr,
      flags_and: scan.flagsAnd,
      tos: scan.changing & CHANGING_TOS ? null : scan.tos,
      ttl: scan.changing & CHANGING_TTL ? null : scan.ttl,
      packets: this.packets[slot] as number,
      first: this.firstWall[slot] as number,
      last: this.lastWall[slot] as number,
      syslog: verdict,
    });
    this.setSlot[set] = slot;
    this.setSince[set] = this.setSequence++;
    this.setOf[slot] = set;
    this.state[slot] = DETECTED;
    for (const port of ports) this.addPort(set, port);
  }

  /** Ends every followed scan whose source has been quiet for longer than the delay. */
  sweep(monoNow: number, wallNowMs: number): void {
    for (let set = 0; set < this.maxScans; set++) {
      const slot = this.setSlot[set] as number;
      if (slot < 0) continue;
      if (elapsed(monoNow, this.refreshed[slot] as number) > this.params.scanDelayMs) {
        this.end(slot, 'quiet', wallNowMs);
        this.state[slot] = ENDED;
      }
    }
  }

  /** Scans followed at the moment. */
  get active(): number {
    let n = 0;
    for (let set = 0; set < this.maxScans; set++) if ((this.setSlot[set] as number) >= 0) n++;
    return n;
  }

  private takePortSet(wallMs: number): number {
    let oldest = -1;
    for (let set = 0; set < this.maxScans; set++) {
      if ((this.setSlot[set] as number) < 0) return this.clearSet(set);
      if (oldest < 0 || (this.setSince[set] as number) < (this.setSince[oldest] as number)) oldest = set;
    }
    // Every set is in use: the longest-followed scan is reported now rather than
    // letting the table grow.
    this.counters.trackerFull++;
    const slot = this.setSlot[oldest] as number;
    this.end(slot, 'tracker-full', wallMs);
    this.state[slot] = ENDED;
    return this.clearSet(oldest);
  }

  private clearSet(set: number): number {
    this.portSets.fill(0, set * PORT_SET_WORDS, (set + 1) * PORT_SET_WORDS);
    this.setCount[set] = 0;
    return set;
  }

  private addPort(set: number, port: number): void {
    const index = set * PORT_SET_WORDS + (port >>> 5);
    const bit = 1 << (port & 31);
    const word = this.portSets[index] as number;
    if ((word & bit) !== 0) return;
    this.portSets[index] = word | bit;
    this.setCount[set] = (this.setCount[set] as number) + 1;
  }

  private addDestination(slot: number, daddr: A): void {
    const family = this.lane.family;
    const base = slot * MAX_DESTINATIONS;
    const n = this.destCount[slot] as number;
    for (let i = 0; i < n; i++) if (family.equals(this.dests, base + i, daddr)) return;
    if (n < MAX_DESTINATIONS) {
      family.store(this.dests, base + n, daddr);
      this.destCount[slot] = n + 1;
    } else {
      this.destTruncated[slot] = 1;
    }
  }

  private destinations(slot: number): string[] {
    const base = slot * MAX_DESTINATIONS;
    return Array.from({ length: this.destCount[slot] as number }, (_, i) => this.lane.family.formatAt(this.dests, base + i));
  }

  private end(slot: number, reason: EndReason, wallNowMs: number): void {
    const set = this.setOf[slot] as number;
    const ranges = portRanges(this.portSets.subarray(set * PORT_SET_WORDS, (set + 1) * PORT_SET_WORDS), MAX_PORT_RANGES);
    const first = this.firstWall[slot] as number;
    const last = this.lastWall[slot] as number;
    this.counters.endEvents++;
    this.emit({
      event: 'scan_end',
      time: wallNowMs,
      family: this.lane.family.name,
      protocol: this.lane.protocol,
      source: this.lane.family.formatAt(this.saddr, slot),
      reason,
      first,
      last,
      duration_ms: Math.max(0, last - first),
      packets: this.packets[slot] as number,
      distinct_ports: this.setCount[set] as number,
      port_ranges: ranges.text,
      port_ranges_truncated: ranges.truncated,
      destinations: this.destinations(slot),
      destinations_truncated: this.destTruncated[slot] === 1,
    });
    this.setSlot[set] = -1;
    this.setOf[slot] = -1;
  }
}
