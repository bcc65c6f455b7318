// What the 120-character line has no room for: every destination and port of a
// detected scan, its packet count and times, and how far it went once it goes quiet.
// It follows its lane's detector step by step and reads the source's time from the
// detector's own table; pure (times in, events out), memory fixed at start.

import { elapsed, wallClockAt, type Clocks } from '../shared/clock.js';
import type { Summary } from '../shared/record.js';
import { CHANGING_SPORT, CHANGING_TOS, CHANGING_TTL, type Detector, type ReleaseReason, type Scan, type Step } from './engine.js';
import {
  MAX_DESTINATIONS,
  MAX_PORT_RANGES,
  PORT_RANGE_SEPARATOR,
  type EndReason,
  type ScanEndEvent,
  type ScanEvent,
  type SyslogVerdict,
} from '../shared/events.js';
import { flagString } from './format.js';

/** Detected scans followed at once, each with a 65536-bit port set (8 KiB). */
export const MAX_TRACKED_SCANS = 256;

const PORT_SET_WORDS = 65536 / 32;

const NOT_FOLLOWED = -1;

const NO_ENDS: readonly ScanEndEvent[] = Object.freeze([]);

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

/**
 * Follows the sources of one lane's detector. Per table slot it keeps only what the
 * detector does not: packets, wall-clock times and destinations. A detected scan is
 * followed with a port set from a fixed pool, and the source it belongs to, until it
 * ends; the detector's table, which reuses the slot meanwhile, is not asked again.
 */
export class ScanTracker<A = number> {
  readonly counters = { scanEvents: 0, endEvents: 0, trackerFull: 0 };

  private readonly packets: Float64Array;
  private readonly firstWall: Float64Array;
  private readonly lastWall: Float64Array;
  private readonly dests: Uint32Array;
  private readonly destCount: Uint8Array;
  private readonly destTruncated: Uint8Array;
  /** Port set of each slot whose scan is followed, or NOT_FOLLOWED. */
  private readonly setOf: Int32Array;

  // The pool of port sets, with the slot and the source each serves and when it was taken.
  private readonly portSets: Uint32Array;
  private readonly setCount: Int32Array;
  private readonly setSlot: Int32Array;
  private readonly setSource: Uint32Array;
  private readonly setSince: Float64Array;
  private setSequence = 0;

  constructor(
    private readonly detector: Detector<A>,
    private readonly maxScans = Math.min(detector.params.listSize, MAX_TRACKED_SCANS),
  ) {
    if (detector.step === null) throw new Error('a tracker follows a detector made to report its steps');
    const n = detector.params.listSize;
    const words = detector.lane.family.words;
    this.packets = new Float64Array(n);
    this.firstWall = new Float64Array(n);
    this.lastWall = new Float64Array(n);
    this.dests = new Uint32Array(n * MAX_DESTINATIONS * words);
    this.destCount = new Uint8Array(n);
    this.destTruncated = new Uint8Array(n);
    this.setOf = new Int32Array(n).fill(NOT_FOLLOWED);
    this.portSets = new Uint32Array(maxScans * PORT_SET_WORDS);
    this.setCount = new Int32Array(maxScans);
    this.setSlot = new Int32Array(maxScans).fill(NOT_FOLLOWED);
    this.setSource = new Uint32Array(maxScans * words);
    this.setSince = new Float64Array(maxScans);
  }

  /** Bytes of the fixed tables, for the documented bound. */
  get tableBytes(): number {
    return [
      this.packets,
      this.firstWall,
      this.lastWall,
      this.dests,
      this.destCount,
      this.destTruncated,
      this.setOf,
      this.portSets,
      this.setCount,
      this.setSlot,
      this.setSource,
      this.setSince,
    ].reduce((sum, table) => sum + table.byteLength, 0);
  }

  /**
   * Takes in what the detector did with `pkt`, which arrived at `clocks` (its `step`).
   * Returns the ends of followed scans whose entries the packet took, in the detector's
   * order.
   */
  follow(step: Readonly<Step>, pkt: Summary<A>, clocks: Readonly<Clocks>): readonly ScanEndEvent[] {
    const wallMs = wallClockAt(pkt.time, clocks);
    let ends = NO_ENDS;
    for (let i = 0; i < step.released; i++) {
      const slot = step.releasedSlots[i] as number;
      if (this.setOf[slot] === NOT_FOLLOWED) continue;
      if (ends === NO_ENDS) ends = [];
      (ends as ScanEndEvent[]).push(this.end(slot, endReason[step.releasedReasons[i] as ReleaseReason], wallMs));
    }
    const slot = step.slot;
    if (slot < 0) return ends;
    if (step.opened) {
      this.packets[slot] = 1;
      this.firstWall[slot] = wallMs;
      this.lastWall[slot] = wallMs;
      this.detector.lane.family.store(this.dests, slot * MAX_DESTINATIONS, pkt.daddr);
      this.destCount[slot] = 1;
      this.destTruncated[slot] = 0;
      return ends;
    }
    this.packets[slot] = (this.packets[slot] as number) + 1;
    this.lastWall[slot] = wallMs;
    this.addDestination(slot, pkt.daddr);
    const set = this.setOf[slot] as number;
    if (set !== NOT_FOLLOWED) this.addPort(set, pkt.dport);
    return ends;
  }

  /**
   * The detector reported `scan`, made by `pkt` (already followed) at `wallMs`;
   * `verdict` is what the flood limit did with its line. Returns its scan event, after
   * the end of the oldest followed scan if the pool had to give up its port set.
   */
  detected(scan: Scan<A>, pkt: Summary<A>, verdict: SyslogVerdict, wallMs: number): Array<ScanEvent | ScanEndEvent> {
    const out: Array<ScanEvent | ScanEndEvent> = [];
    const slot = scan.slot;
    const family = this.detector.lane.family;
    // The line leaves out the port that crossed the threshold; the event lists it last.
    const ports = [...scan.ports, pkt.dport];
    const set = this.takePortSet(wallMs, out);
    this.counters.scanEvents++;
    out.push({
      event: 'scan',
      time: wallMs,
      family: family.name,
      protocol: this.detector.lane.protocol,
      source: family.format(scan.saddr),
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
    family.store(this.setSource, set, scan.saddr);
    this.setSince[set] = this.setSequence++;
    this.setOf[slot] = set;
    for (const port of ports) this.addPort(set, port);
    return out;
  }

  /** Ends every followed scan whose source has been quiet for longer than the delay. */
  sweep(monoNow: number, wallNowMs: number): readonly ScanEndEvent[] {
    let ends = NO_ENDS;
    for (let set = 0; set < this.maxScans; set++) {
      const slot = this.setSlot[set] as number;
      if (slot === NOT_FOLLOWED) continue;
      if (elapsed(monoNow, this.detector.renewedAt(slot)) > this.detector.params.scanDelayMs) {
        if (ends === NO_ENDS) ends = [];
        (ends as ScanEndEvent[]).push(this.end(slot, 'quiet', wallNowMs));
      }
    }
    return ends;
  }

  /** Scans followed at the moment. */
  get active(): number {
    let n = 0;
    for (let set = 0; set < this.maxScans; set++) if (this.setSlot[set] !== NOT_FOLLOWED) n++;
    return n;
  }

  /** A cleared port set; when every one is in use, the longest-followed scan ends (into `out`) to free its own. */
  private takePortSet(wallMs: number, out: Array<ScanEvent | ScanEndEvent>): number {
    let oldest = -1;
    for (let set = 0; set < this.maxScans; set++) {
      if (this.setSlot[set] === NOT_FOLLOWED) return this.clearSet(set);
      if (oldest < 0 || (this.setSince[set] as number) < (this.setSince[oldest] as number)) oldest = set;
    }
    // Every set is in use: the longest-followed scan is reported now rather than
    // letting the table grow.
    this.counters.trackerFull++;
    out.push(this.end(this.setSlot[oldest] as number, 'tracker-full', wallMs));
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
    const family = this.detector.lane.family;
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
    const family = this.detector.lane.family;
    return Array.from({ length: this.destCount[slot] as number }, (_, i) => family.formatAt(this.dests, base + i));
  }

  /** The end of the scan followed in `slot`, which stops being followed. */
  private end(slot: number, reason: EndReason, wallNowMs: number): ScanEndEvent {
    const set = this.setOf[slot] as number;
    const ranges = portRanges(this.portSets.subarray(set * PORT_SET_WORDS, (set + 1) * PORT_SET_WORDS), MAX_PORT_RANGES);
    const first = this.firstWall[slot] as number;
    const last = this.lastWall[slot] as number;
    this.counters.endEvents++;
    this.setSlot[set] = NOT_FOLLOWED;
    this.setOf[slot] = NOT_FOLLOWED;
    return {
      event: 'scan_end',
      time: wallNowMs,
      family: this.detector.lane.family.name,
      protocol: this.detector.lane.protocol,
      source: this.detector.lane.family.formatAt(this.setSource, set),
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
    };
  }
}
