// Port scan detection, decision for decision the same as scanlogd 2.2.8's
// process_packet(). Pure: records and times in, detected scans out; no I/O, no clock.
// One detector watches one lane (an address family and a protocol): scanlogd's own is
// IPv4 TCP; UDP and IPv6 lanes run the same rules in tables of their own. A UDP
// datagram has no flags (0), so the rules about ACK and RST never apply to it.

import { elapsed, type Clocks } from '../shared/clock.js';
import { loadProcCtl } from '../shared/procctl.js';
import type { DetectorParams } from '../shared/params.js';
import type { Protocol, Summary } from '../shared/record.js';
import { TCP4, type Lane } from './addresses.js';

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;

/** Bits of Scan.changing: which header fields differed from the source's first packet. */
export const CHANGING_DADDR = 0x01;
export const CHANGING_SPORT = 0x02;
export const CHANGING_TOS = 0x04;
export const CHANGING_TTL = 0x08;

/** A source that crossed the weight threshold, as it stood at that moment. */
export interface Scan<A = number> {
  saddr: A;
  /** Destination of the first packet. */
  daddr: A;
  protocol: Protocol;
  /** Source port of the first packet. */
  sport: number;
  /** Destination ports in the order first seen (the crossing port is not included). */
  ports: number[];
  flagsOr: number;
  flagsAnd: number;
  tos: number;
  ttl: number;
  changing: number;
  /** Wall-clock seconds of the source's first packet, for the "@HH:MM:SS" stamp. */
  start: number;
  /** Monotonic milliseconds (uint32) of the packet that crossed the threshold. */
  time: number;
  /** Table slot of the source, for the tracker that keeps more about it. */
  slot: number;
}

/** Why a source's table entry stopped being its own. */
export type ReleaseReason = 'stale' | 'bucket-full' | 'slot-reused';

/** A packet takes at most three entries from their sources: its own stale one, a bucket's oldest, the slot it reuses. */
const MAX_RELEASES = 3;

/**
 * What the last call of process() did besides its verdict, slot by slot, for the
 * tracker that keeps what the log line has no room for. Overwritten by the next call.
 * process() writes it in place at each point rather than through a helper method: once
 * a scan has run through process() and V8 optimizes it again, it no longer inlines such
 * helpers, and the calls showed as a per-packet cost under a spoofed flood
 * (bench/events.ts, after its scan rounds).
 */
export class Step {
  /** The slot of the packet's source when the packet counted for it; -1 when it was left aside. */
  slot = -1;
  /** Whether the packet opened that slot for a new source. */
  opened = false;
  /** How many entries the packet took from their sources, in `releasedSlots` and `releasedReasons`. */
  released = 0;
  readonly releasedSlots = new Int32Array(MAX_RELEASES);
  readonly releasedReasons: ReleaseReason[] = new Array<ReleaseReason>(MAX_RELEASES).fill('stale');
}

export interface DetectorOptions {
  /** The keyed hash's bits; by default drawn at random when the hash is keyed. Tests give a fixed one. */
  hashKey?: Uint32Array;
  /** Report each packet's step, for a tracker to follow. */
  steps?: boolean;
}

const NIL = -1;

/** The fold key of an unkeyed (IPv4, scanlogd's) table, whose fold ignores it. */
const UNKEYED = new Uint32Array(3);

const KEY_WORDS = 3;
/**
 * Keys drawn ahead, when this module loads, long before the monitor's sandbox (which
 * has no getrandom(2)) is in place. A monitor needs at most five (four lanes and the
 * slow-scan stage), all taken as it builds its pipeline, before the sandbox; more are
 * drawn when the pool runs out, which only a process without that sandbox (the tests)
 * reaches. getrandom through the addon the monitor loads anyway spares it node:crypto
 * (about 1 MB resident) for these bytes.
 */
const KEYS_AHEAD = 16;
let keyPool = new Uint32Array(0);
let keysTaken = 0;

function drawKeys(): void {
  keyPool = loadProcCtl().fillRandom(new Uint32Array(KEYS_AHEAD * KEY_WORDS));
  keysTaken = 0;
}
drawKeys();

/** Random bits for the keyed hash, drawn once per detector. */
export function randomHashKey(): Uint32Array {
  if (keysTaken === KEYS_AHEAD) drawKeys();
  const key = keyPool.slice(keysTaken * KEY_WORDS, (keysTaken + 1) * KEY_WORDS);
  keysTaken++;
  return key;
}

/**
 * The keyed bucket of `addr`: the address mixed with `key` by two multiply-xorshift
 * rounds (odd multipliers, so every step is a bijection on 32 bits), then the top bits.
 * Without the key, which addresses share a bucket cannot be computed. It is not a
 * cryptographic function: an attacker who could watch evictions at length might learn
 * about the key, and the bucket cap still bounds what that would buy.
 */
export function keyedHashAddress(addr: number, hashSize: number, key: Uint32Array): number {
  return keyedHash(addr, key) & (hashSize - 1);
}

/** The whole 32 bits of keyedHashAddress's mix, whose low bits are the bucket. */
export function keyedHash(addr: number, key: Uint32Array): number {
  let h = (addr ^ (key[0] as number)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), (key[1] as number) | 1);
  h = Math.imul(h ^ (h >>> 15), (key[2] as number) | 1);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * scanlogd's hash over s_addr as a little-endian host stores it, so that the same
 * addresses share a bucket here as in the reference (the bucket cap depends on it).
 */
export function hashAddress(addr: number, hashSize: number): number {
  // hashSize is a power of two (checked with the options); clz32 is exact and, unlike
  // Math.log2, cheap enough for every packet.
  const hashLog = 31 - Math.clz32(hashSize);
  // Byte-swap the network-order number into the value an x86 s_addr reads as.
  let value = (((addr & 0xff) << 24) | ((addr & 0xff00) << 8) | ((addr >>> 8) & 0xff00) | (addr >>> 24)) >>> 0;
  let hash = 0;
  do {
    hash = (hash ^ value) >>> 0;
    value = hashLog >= 32 ? 0 : value >>> hashLog;
  } while (value !== 0);
  return hash & (hashSize - 1);
}

export interface EngineCounters {
  packets: number;
  /** Sources unlinked because their hash bucket was full. */
  bucketEvictions: number;
  /** New sources that took a slot still in use by another source. */
  slotReuses: number;
  scans: number;
}

/**
 * The detector of one lane, its addresses kept through the lane's AddressFamily. The
 * few address operations of the per-packet path are methods, so that scanlogd's own
 * lane (Ipv4Detector, below) does them as plain comparisons of numbers.
 */
export class Detector<A> {
  readonly params: Readonly<DetectorParams>;
  readonly counters: EngineCounters = {
    packets: 0,
    bucketEvictions: 0,
    slotReuses: 0,
    scans: 0,
  };

  // One slot per tracked source, as parallel typed arrays: the memory is fixed at
  // start-up whatever the traffic.
  private readonly next: Int32Array;
  private readonly timestamp: Uint32Array;
  private readonly start: Float64Array;
  /** Addresses, `lane.family.words` words a slot; what an unused slot holds means nothing. */
  protected readonly saddr: Uint32Array;
  protected readonly daddr: Uint32Array;
  private readonly sport: Uint16Array;
  private readonly count: Int32Array;
  private readonly weight: Int32Array;
  private readonly ports: Uint16Array;
  private readonly tos: Uint8Array;
  private readonly ttl: Uint8Array;
  private readonly flagsOr: Uint8Array;
  private readonly flagsAnd: Uint8Array;
  private readonly changing: Uint8Array;
  private readonly hash: Int32Array;
  /**
   * The bucket each slot's source was linked into, NIL for an unused slot. Kept rather
   * than computed again from the address when the slot is reused: for an IPv6 source
   * that was a second keyed fold of four words for every new source.
   */
  private readonly home: Int32Array;
  /** The oldest slot, next to be reused. */
  private index = 0;
  private readonly hashKey: Uint32Array | null;
  /** What an address wider than 32 bits is folded with: the hash key (always there for IPv6). */
  private readonly foldKey: Uint32Array;
  /** What the last packet did, slot by slot, when a tracker follows (see Step); null otherwise, at no cost per packet. */
  readonly step: Step | null;

  constructor(
    params: Readonly<DetectorParams>,
    readonly lane: Lane<A>,
    options: DetectorOptions = {},
  ) {
    this.params = params;
    // IPv6 has no reference bucket choice to match, and a scanner owns whole /64s to
    // pick colliding addresses from: its buckets are always keyed.
    const keyed = params.hash === 'keyed' || lane.family.alwaysKeyed;
    this.hashKey = options.hashKey ?? (keyed ? randomHashKey() : null);
    this.foldKey = this.hashKey ?? UNKEYED;
    this.step = options.steps === true ? new Step() : null;
    const n = params.listSize;
    this.next = new Int32Array(n).fill(NIL);
    this.timestamp = new Uint32Array(n);
    this.start = new Float64Array(n);
    this.saddr = new Uint32Array(n * lane.family.words);
    this.daddr = new Uint32Array(n * lane.family.words);
    this.sport = new Uint16Array(n);
    this.count = new Int32Array(n);
    this.weight = new Int32Array(n);
    this.ports = new Uint16Array(n * params.maxPorts);
    this.tos = new Uint8Array(n);
    this.ttl = new Uint8Array(n);
    this.flagsOr = new Uint8Array(n);
    this.flagsAnd = new Uint8Array(n);
    this.changing = new Uint8Array(n);
    this.hash = new Int32Array(params.hashSize).fill(NIL);
    this.home = new Int32Array(n).fill(NIL);
  }

  private bucketOf(folded: number): number {
    return this.hashKey === null ? hashAddress(folded, this.params.hashSize) : keyedHashAddress(folded, this.params.hashSize, this.hashKey);
  }

  // The address operations of the per-packet path.
  protected isUnspecified(addr: A): boolean {
    return this.lane.family.isUnspecified(addr);
  }

  protected foldOf(addr: A): number {
    return this.lane.family.foldOf(addr, this.foldKey);
  }

  /** Whether `slot` holds source `addr`. */
  protected holds(slot: number, addr: A): boolean {
    return this.lane.family.equals(this.saddr, slot, addr);
  }

  protected sameDestination(slot: number, daddr: A): boolean {
    return this.lane.family.equals(this.daddr, slot, daddr);
  }

  protected keep(slot: number, saddr: A, daddr: A): void {
    this.lane.family.store(this.saddr, slot, saddr);
    this.lane.family.store(this.daddr, slot, daddr);
  }

  private portWeight(port: number): number {
    return port < 1024 ? this.params.portWeightPriv : this.params.portWeightHigh;
  }

  /** Monotonic milliseconds (uint32) of the last packet that renewed `slot`'s source. */
  renewedAt(slot: number): number {
    return this.timestamp[slot] as number;
  }

  /**
   * Feeds one packet that arrived at `clocks`. The packet's wall-clock time, the start
   * time of a new source, is derived from them only for a new source. Returns the scan
   * when this packet makes the source's weight reach the threshold, otherwise null;
   * `step` says what else it did.
   */
  process(pkt: Summary<A>, clocks: Readonly<Clocks>): Scan<A> | null {
    this.counters.packets++;
    const step = this.step;
    if (step !== null) {
      step.slot = -1;
      step.released = 0;
    }
    const addr = pkt.saddr;
    const flags = pkt.flags;
    const now = pkt.time;

    // 0.0.0.0 (or ::) marks unused slots; a spoofed one must not match them.
    if (this.isUnspecified(addr)) return null;

    const bucket = this.bucketOf(this.foldOf(addr));
    // Walk the chain: `count` entries before the match (or all of them), `last` the
    // predecessor of the match or, without one, the last entry that has a successor.
    let count = 0;
    let last = NIL;
    let current = this.hash[bucket] as number;
    while (current !== NIL) {
      if (this.holds(current, addr)) break;
      count++;
      if (this.next[current] !== NIL) last = current;
      current = this.next[current] as number;
    }

    if (current !== NIL) {
      const age = elapsed(now, this.timestamp[current] as number);
      if (age >= 0 && age <= this.params.scanDelayMs) {
        return this.update(current, pkt);
      }
      // Known but stale: free it and start over in a fresh slot, since this one
      // could be reused too soon.
      if (step !== null) {
        step.releasedSlots[step.released] = current;
        step.releasedReasons[step.released++] = 'stale';
      }
      this.home[current] = NIL;
      if (last !== NIL) this.next[last] = this.next[current] as number;
      else this.hash[bucket] = this.next[current] as number;
      last = NIL;
    }

    // An ACK from a source we have no entry for is most likely a reply to one of our
    // own connections.
    if (flags & TH_ACK) return null;

    this.admit(pkt, clocks, bucket, count, last);
    return null;
  }

  /**
   * A new source, to be linked at the head of `bucket`; `count` and `last` are what
   * process() found walking that bucket's chain. Takes the oldest slot, and the tail of
   * a full bucket.
   */
  private admit(pkt: Summary<A>, clocks: Readonly<Clocks>, bucket: number, count: number, last: number): void {
    const step = this.step;
    const now = pkt.time;
    const flags = pkt.flags;
    // Too many sources in this bucket: drop the oldest (the tail), so that addresses
    // chosen to collide cannot make every lookup slow.
    if (count >= this.params.hashMax && last !== NIL) {
      if (step !== null) {
        step.releasedSlots[step.released] = this.next[last] as number;
        step.releasedReasons[step.released++] = 'bucket-full';
      }
      this.next[last] = NIL;
      this.counters.bucketEvictions++;
    }

    const slot = this.index;
    const home = this.home[slot] as number;
    if (home !== NIL) {
      this.counters.slotReuses++;
      if (step !== null) {
        step.releasedSlots[step.released] = slot;
        step.releasedReasons[step.released++] = 'slot-reused';
      }
      this.unlink(slot, home);
    }
    this.index = slot + 1 >= this.params.listSize ? 0 : slot + 1;

    this.next[slot] = this.hash[bucket] as number;
    this.hash[bucket] = slot;
    this.home[slot] = bucket;

    this.timestamp[slot] = now;
    // wallClockAt(now, clocks), written in place: called from here once V8 stops
    // inlining the detector's helpers, it returned a boxed double for every new source.
    this.start[slot] = Math.floor((clocks.wall - Math.max(0, (clocks.mono - now) | 0)) / 1000);
    this.keep(slot, pkt.saddr, pkt.daddr);
    this.sport[slot] = pkt.sport;
    this.count[slot] = 1;
    this.weight[slot] = this.portWeight(pkt.dport);
    this.ports[slot * this.params.maxPorts] = pkt.dport;
    this.tos[slot] = pkt.tos;
    this.ttl[slot] = pkt.ttl;
    this.flagsOr[slot] = flags;
    this.flagsAnd[slot] = flags;
    this.changing[slot] = 0;
    if (step !== null) {
      step.slot = slot;
      step.opened = true;
    }
  }

  private update(slot: number, pkt: Summary<A>): Scan<A> | null {
    const step = this.step;
    const base = slot * this.params.maxPorts;
    const n = this.count[slot] as number;
    for (let i = 0; i < n; i++) {
      if (this.ports[base + i] === pkt.dport) {
        this.flagsOr[slot] = (this.flagsOr[slot] as number) | pkt.flags;
        this.flagsAnd[slot] = (this.flagsAnd[slot] as number) & pkt.flags;
        if (step !== null) {
          step.slot = slot;
          step.opened = false;
        }
        return null;
      }
    }

    // ACK or RST to a new port: traffic of a connection, not a probe.
    if (pkt.flags & (TH_ACK | TH_RST)) return null;

    this.timestamp[slot] = pkt.time;
    if (step !== null) {
      step.slot = slot;
      step.opened = false;
    }

    // Already reported: stay quiet until the source pauses for longer than the delay.
    if ((this.weight[slot] as number) >= this.params.scanWeightThreshold) return null;

    this.flagsOr[slot] = (this.flagsOr[slot] as number) | pkt.flags;
    this.flagsAnd[slot] = (this.flagsAnd[slot] as number) & pkt.flags;

    let changing = this.changing[slot] as number;
    if (!this.sameDestination(slot, pkt.daddr)) changing |= CHANGING_DADDR;
    if (this.sport[slot] !== pkt.sport) changing |= CHANGING_SPORT;
    if (this.tos[slot] !== pkt.tos) changing |= CHANGING_TOS;
    if (this.ttl[slot] !== pkt.ttl) changing |= CHANGING_TTL;
    this.changing[slot] = changing;

    const weight = (this.weight[slot] as number) + this.portWeight(pkt.dport);
    this.weight[slot] = weight;

    if (weight >= this.params.scanWeightThreshold) {
      this.counters.scans++;
      return this.snapshot(slot);
    }

    if (n < this.params.maxPorts) {
      this.ports[base + n] = pkt.dport;
      this.count[slot] = n + 1;
    }
    return null;
  }

  /** Removes `slot` from the chain of `bucket`, if it is still linked there. */
  private unlink(slot: number, bucket: number): void {
    let prev = NIL;
    let current = this.hash[bucket] as number;
    while (current !== NIL && current !== slot) {
      prev = current;
      current = this.next[current] as number;
    }
    if (current === NIL) return;
    if (prev !== NIL) this.next[prev] = this.next[current] as number;
    else this.hash[bucket] = this.next[current] as number;
  }

  private snapshot(slot: number): Scan<A> {
    const base = slot * this.params.maxPorts;
    const n = this.count[slot] as number;
    const family = this.lane.family;
    return {
      saddr: family.read(this.saddr, slot),
      daddr: family.read(this.daddr, slot),
      protocol: this.lane.protocol,
      sport: this.sport[slot] as number,
      ports: Array.from(this.ports.subarray(base, base + n)),
      flagsOr: this.flagsOr[slot] as number,
      flagsAnd: this.flagsAnd[slot] as number,
      tos: this.tos[slot] as number,
      ttl: this.ttl[slot] as number,
      changing: this.changing[slot] as number,
      start: this.start[slot] as number,
      time: this.timestamp[slot] as number,
      slot,
    };
  }

  /** Sources currently linked in bucket `bucket`, head first (for tests and stats). */
  chain(bucket: number): A[] {
    const out: A[] = [];
    for (let c = this.hash[bucket] as number; c !== NIL; c = this.next[c] as number) {
      out.push(this.lane.family.read(this.saddr, c));
    }
    return out;
  }

  /** The bucket a source address goes to (for tests). */
  bucketOfAddress(addr: A): number {
    return this.bucketOf(this.lane.family.foldOf(addr, this.foldKey));
  }
}

/**
 * scanlogd's lane, IPv4 TCP (or IPv4 UDP): an address is one number, and the
 * per-packet address operations are the plain comparisons scanlogd makes.
 */
export class Ipv4Detector extends Detector<number> {
  constructor(params: Readonly<DetectorParams>, options: DetectorOptions & { lane?: Lane<number> } = {}) {
    super(params, options.lane ?? TCP4, options);
  }

  protected override isUnspecified(addr: number): boolean {
    return addr === 0;
  }

  protected override foldOf(addr: number): number {
    return addr;
  }

  protected override holds(slot: number, addr: number): boolean {
    return this.saddr[slot] === addr;
  }

  protected override sameDestination(slot: number, daddr: number): boolean {
    return this.daddr[slot] === daddr;
  }

  protected override keep(slot: number, saddr: number, daddr: number): void {
    this.saddr[slot] = saddr;
    this.daddr[slot] = daddr;
  }
}
