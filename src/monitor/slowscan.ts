// The second stage of detection: slow scans and sweeps, which scanlogd's 3-second gap
// has always missed. It counts, per source, first contacts that failed: probes to a
// port of this host that no socket listens on, or to another host that never
// answered. A contact is judged late, once the host's socket tables have been read
// after it (and, for another host, once it had time to answer), so that a port that
// was open for a moment (a passive FTP data port) is not taken for closed. Pure:
// records, socket tables and clocks in, reports out; memory fixed at start.

import { elapsed } from '../shared/clock.js';
import { SLOW_CONTACTS, type SlowScanParams } from '../shared/params.js';
import type { Answer4Record, Protocol, Summary } from '../shared/record.js';
import type { SlowScanEvent, SweepEvent, SyslogVerdict } from '../shared/events.js';
import { IPV4, IPV6, addressText, type AddressFamily } from './addresses.js';
import { EarlyAnswers } from './earlyanswers.js';
import { TH_ACK, TH_RST, TH_SYN, keyedHash, randomHashKey } from './engine.js';
import type { PortMap, SocketSink } from './sockets.js';

/** First contacts remembered per source: the newest, each with its outcome. */
export const CONTACTS = SLOW_CONTACTS;
/**
 * How long after a contact to this host it is judged at the earliest: the socket
 * tables read before then may predate a socket the contact reached.
 */
export const LOCAL_GRACE_MS = 2000;
/**
 * How long a contact to another host (a gateway's or a bridge's traffic) waits for
 * that host's answer (SYN+ACK, a datagram back), which only a device that shows the
 * answers' direction delivers.
 */
export const FOREIGN_WAIT_MS = 120_000;
/** How often the socket tables are read when nothing waits for them, to keep the open ports current. */
export const IDLE_REFRESH_MS = 60_000;
/** The shortest time between two reads of the socket tables; a read also waits COST_FACTOR times the last one's cost. */
export const MIN_REFRESH_MS = 2000;
/** A read of the socket tables waits this many times its predecessor's duration: at most 1% of a core. */
export const COST_FACTOR = 100;
/** The shortest time between two lines saying that new sources were refused (the counters line has the totals). */
export const REFUSAL_LINE_MS = 10 * 60_000;
/** Slots a new source may look at for a free one: spoofed floods cost bounded work per packet. */
const PROBE_SLOTS = 8;
/**
 * Sources one bucket may hold. The bucket is keyed, so a sender cannot choose addresses
 * that share one; the cap bounds a lookup even so. With two buckets per source, a
 * bucket of random sources reaches it about once in ten million.
 */
export const MAX_CHAIN = 8;
/**
 * Refused sources remembered, so that the refusal counter counts sources rather than
 * their packets: one entry per value of the keyed hash's top 8 bits, the newest kept.
 * Those are not the bucket's bits (at most 17, for 65536 sources): the sources of one
 * full bucket are refused together and must not share an entry.
 */
export const REFUSED_MEMORY = 256;
const REFUSED_SHIFT = 32 - Math.log2(REFUSED_MEMORY);
/** The rank of a slot that is never given to a new source (see rank). */
const KEPT = 3;

// Outcome of a remembered contact, in its state byte (bit 2: UDP).
const FREE = 0;
const PENDING = 1;
const FAILED = 2;
const SUCCEEDED = 3;
const OUTCOME = 3;
const UDP_BIT = 4;
/** A waiting contact to another host whose source went on with the connection (an ACK-bearing segment). */
const CLIENT_ACK_BIT = 8;

const NIL = -1;

export type SlowKind = 'slow-scan' | 'sweep';

/** A contact as a report lists it. */
export interface FailedContact<A> {
  daddr: A;
  port: number;
  protocol: Protocol;
}

/** A source that crossed a threshold of the second stage. */
export interface SlowReport<A = number | Uint32Array> {
  kind: SlowKind;
  saddr: A;
  family: 'ipv4' | 'ipv6';
  /** The failed contacts still remembered, oldest first (at most CONTACTS). */
  failed: Array<FailedContact<A>>;
  /** Failed and successful first contacts counted since the source was first seen. */
  failures: number;
  successes: number;
  /** For a sweep: the port, its protocol and how many hosts it failed on. */
  port: number;
  protocol: Protocol;
  hosts: number;
  /** Wall-clock milliseconds of the first contact and of the last failed one. */
  first: number;
  last: number;
  /** Monotonic milliseconds (uint32) of the judgment. */
  time: number;
}

export interface SlowCounters {
  slowScans: number;
  sweeps: number;
  /** New sources not followed (each counted once while remembered, see refuse): every slot they could take held a source with evidence. */
  sourcesRefused: number;
  /** Contacts not followed (their source had CONTACTS contacts waiting for a judgment) or not judged (the socket tables could not be read). */
  contactsDropped: number;
  refreshes: number;
}

/**
 * Which destinations are not probes of anyone: multicast, the limited broadcast, and
 * this host's directed broadcasts (`broadcasts`, read from its interfaces at start).
 * LAN chatter (NetBIOS, SSDP, mDNS, LLMNR, DHCP) goes there from every neighbour, on
 * several ports. An address ending in .255 is a host's on a network wider than a /24,
 * unless `lastOctet`: the host had no network to tell (see SlowScanStage).
 */
function isGroupAddress4(a: number, broadcasts: Uint32Array, lastOctet: boolean): boolean {
  if (a >>> 28 === 0xe || a === 0xffffffff || (lastOctet && (a & 0xff) === 0xff)) return true;
  for (let i = 0; i < broadcasts.length; i++) if (broadcasts[i] === a) return true;
  return false;
}
const isGroupAddress6 = (a: Uint32Array): boolean => (a[0] as number) >>> 24 === 0xff;

/** The table of one address family: the sources followed and their last contacts. */
class SourceTable<A> {
  readonly size: number;
  private readonly words: number;
  private readonly hashSize: number;
  private readonly key: Uint32Array;
  private readonly hash: Int32Array;
  private readonly next: Int32Array;
  private readonly saddr: Uint32Array;
  /** Wall ms of the source's first contact, and of its last failed one. */
  private readonly firstWall: Float64Array;
  private readonly lastFailWall: Float64Array;
  /** Monotonic ms of the last new contact: the idle expiry counts from it. */
  private readonly lastNew: Uint32Array;
  private readonly failures: Uint16Array;
  private readonly successes: Uint16Array;
  /** TRW's likelihood ratio as a running sum: +1 per failure, -1 per success, never below 0. */
  private readonly score: Uint16Array;
  private readonly pending: Uint8Array;
  private readonly reported: Uint8Array;
  /** Whether a contact of the slot was judged since its thresholds were last checked. */
  private readonly judged: Uint8Array;
  /** Contacts: a ring of CONTACTS per source. */
  private readonly ring: Uint8Array;
  private readonly cPort: Uint16Array;
  private readonly cDst: Uint32Array;
  private readonly cState: Uint8Array;
  private readonly cTime: Uint32Array;
  private readonly cForeign: Uint8Array;
  /** The contacts of one slot due for a judgment, oldest first (see dueContacts). */
  private readonly due = new Int32Array(CONTACTS);
  /** The last source refused at each of REFUSED_MEMORY places. */
  private readonly refused: Uint32Array;
  /** Answers that matched no contact, for the contact read after them (on a device only). */
  private readonly early: EarlyAnswers<A> | null;
  private cursor = 0;
  /** Contacts waiting for a judgment, in every slot. */
  pendingTotal = 0;
  /** Contacts the traffic judged since the last read of the socket tables, whose sources are still to be checked. */
  judgedByTraffic = 0;

  constructor(
    readonly family: AddressFamily<A>,
    private readonly params: Readonly<SlowScanParams>,
    private readonly counters: SlowCounters,
    answers: boolean,
    hashKey: Uint32Array = randomHashKey(),
  ) {
    this.key = hashKey;
    const n = params.slowSources;
    this.size = n;
    this.words = family.words;
    // Two buckets per source, as scanlogd sizes its hash; the bucket is keyed, so
    // spoofed addresses cannot be chosen to share one.
    this.hashSize = 1 << Math.ceil(Math.log2(2 * n));
    this.hash = new Int32Array(this.hashSize).fill(NIL);
    this.next = new Int32Array(n).fill(NIL);
    this.saddr = new Uint32Array(n * this.words);
    this.firstWall = new Float64Array(n);
    this.lastFailWall = new Float64Array(n);
    this.lastNew = new Uint32Array(n);
    this.failures = new Uint16Array(n);
    this.successes = new Uint16Array(n);
    this.score = new Uint16Array(n);
    this.pending = new Uint8Array(n);
    this.reported = new Uint8Array(n);
    this.judged = new Uint8Array(n);
    this.ring = new Uint8Array(n);
    this.cPort = new Uint16Array(n * CONTACTS);
    this.cDst = new Uint32Array(n * CONTACTS * this.words);
    this.cState = new Uint8Array(n * CONTACTS);
    this.cTime = new Uint32Array(n * CONTACTS);
    this.cForeign = new Uint8Array(n * CONTACTS);
    this.refused = new Uint32Array(REFUSED_MEMORY * this.words);
    this.early = answers ? new EarlyAnswers(family, hashKey) : null;
  }

  get tableBytes(): number {
    return [
      this.hash,
      this.next,
      this.saddr,
      this.firstWall,
      this.lastFailWall,
      this.lastNew,
      this.failures,
      this.successes,
      this.score,
      this.pending,
      this.reported,
      this.judged,
      this.ring,
      this.cPort,
      this.cDst,
      this.cState,
      this.cTime,
      this.cForeign,
      this.refused,
    ].reduce((sum, t) => sum + t.byteLength, this.early?.tableBytes ?? 0);
  }

  /** The keyed hash of `addr`: its low bits are its bucket, its top bits its place in the refusal memory. */
  private hashOf(addr: A): number {
    return keyedHash(this.family.foldOf(addr, this.key), this.key);
  }

  private bucketOf(addr: A): number {
    return this.hashOf(addr) & (this.hashSize - 1);
  }

  /** The slot of `addr`, or NIL. */
  find(addr: A): number {
    return this.findIn(this.bucketOf(addr), addr);
  }

  /** The slot of `addr` in its `bucket`, or NIL. */
  private findIn(bucket: number, addr: A): number {
    for (let s = this.hash[bucket] as number; s !== NIL; s = this.next[s] as number) {
      if (this.family.equals(this.saddr, s, addr)) return s;
    }
    return NIL;
  }

  /**
   * Whether `slot`'s source has been idle past its expiry. The clock is 32 bits of
   * milliseconds and wraps every 49.7 days; an age reads true for 24.8 days (`elapsed`
   * is signed), and every read of the socket tables, at most IDLE_REFRESH_MS apart,
   * releases the expired slots, so no age is ever read after it could have wrapped.
   */
  private isExpired(slot: number, now: number): boolean {
    const age = elapsed(now, this.lastNew[slot] as number);
    return age > this.params.slowIdleMs || age < 0;
  }

  /** Releases the slots whose sources have expired by `now` (see isExpired). */
  releaseExpired(now: number): void {
    for (let slot = 0; slot < this.size; slot++) {
      if (!this.family.isUnused(this.saddr, slot) && this.isExpired(slot, now)) this.release(slot);
    }
  }

  /**
   * A slot for the new source `addr`, whose keyed hash is `hash`: the most readily given
   * of the next PROBE_SLOTS, the least recently contacted among equals; NIL when they
   * all hold sources kept.
   *
   * How readily a slot is given, lowest first: free or expired (0), a source with no
   * failed contact (1), one with a single failed one (2). A source with two failed or
   * waiting contacts (KEPT) is never given away before its idle expiry: a spoofed flood
   * sends one packet per address and so can only displace sources of the first three
   * kinds, and those of the third last and oldest first.
   */
  private take(addr: A, hash: number, now: number, wallMs: number): number {
    const bucket = hash & (this.hashSize - 1);
    let chain = 0;
    for (let s = this.hash[bucket] as number; s !== NIL; s = this.next[s] as number) chain++;
    if (chain >= MAX_CHAIN) {
      this.refuse(addr, hash);
      return NIL;
    }
    let slot = NIL;
    let best = KEPT;
    // Every new source of a spoofed flood ranks PROBE_SLOTS slots: the tables and the
    // expiry are read once, not once per slot (isExpired's rule, written out).
    let cursor = this.cursor;
    const size = this.size;
    const { saddr, lastNew, failures, pending, family } = this;
    const idleMs = this.params.slowIdleMs;
    for (let i = 0; i < PROBE_SLOTS && best > 0; i++) {
      const s = cursor;
      cursor = s + 1 >= size ? 0 : s + 1;
      const age = elapsed(now, lastNew[s] as number);
      let r = 0;
      if (!family.isUnused(saddr, s) && age <= idleMs && age >= 0) {
        const failed = failures[s] as number;
        r = failed + (pending[s] as number) >= 2 ? KEPT : failed === 0 ? 1 : 2;
      }
      if (r < best || (r === best && r !== KEPT && elapsed(lastNew[slot] as number, lastNew[s] as number) > 0)) {
        slot = s;
        best = r;
      }
    }
    this.cursor = cursor;
    if (slot === NIL) {
      this.refuse(addr, hash);
      return NIL;
    }
    // Followed now: if it is refused again once forgotten, that is another refusal.
    const at = hash >>> REFUSED_SHIFT;
    if (this.family.equals(this.refused, at, addr)) this.family.clear(this.refused, at);
    if (!this.family.isUnused(this.saddr, slot)) this.release(slot);
    this.next[slot] = this.hash[bucket] as number;
    this.hash[bucket] = slot;
    this.family.store(this.saddr, slot, addr);
    this.firstWall[slot] = wallMs;
    this.lastFailWall[slot] = wallMs;
    this.lastNew[slot] = now;
    this.failures[slot] = 0;
    this.successes[slot] = 0;
    this.score[slot] = 0;
    this.pending[slot] = 0;
    this.reported[slot] = 0;
    this.judged[slot] = 0;
    this.ring[slot] = 0;
    // A loop, not fill(): a call into the runtime costs more than twelve stores.
    for (let c = slot * CONTACTS, end = c + CONTACTS; c < end; c++) this.cState[c] = FREE;
    return slot;
  }

  /**
   * Counts `addr` as refused unless it is the source last refused at its place: a
   * refused scanner probes again and again, and the counter says how many sources the
   * stage is blind to. One pushed out of its place by another refused since is counted
   * again, so a flood of more new sources than REFUSED_MEMORY may count one twice; one
   * followed since (take clears its place) is counted again when it is refused again.
   */
  private refuse(addr: A, hash: number): void {
    const at = hash >>> REFUSED_SHIFT;
    if (this.family.equals(this.refused, at, addr)) return;
    this.family.store(this.refused, at, addr);
    this.counters.sourcesRefused++;
  }

  private release(slot: number): void {
    this.pendingTotal -= this.pending[slot] as number;
    this.pending[slot] = 0;
    const bucket = this.bucketOf(this.family.read(this.saddr, slot));
    let prev = NIL;
    let s = this.hash[bucket] as number;
    while (s !== NIL && s !== slot) {
      prev = s;
      s = this.next[s] as number;
    }
    if (s !== NIL) {
      if (prev === NIL) this.hash[bucket] = this.next[s] as number;
      else this.next[prev] = this.next[s] as number;
    }
    this.family.clear(this.saddr, slot);
  }

  /** The contact of `slot` to (daddr, port, protocol), or NIL. */
  private contactOf(slot: number, daddr: A, port: number, udp: number): number {
    const base = slot * CONTACTS;
    for (let c = base; c < base + CONTACTS; c++) {
      const st = this.cState[c] as number;
      if (st !== FREE && this.cPort[c] === port && (st & UDP_BIT) === udp && this.family.equals(this.cDst, c, daddr)) return c;
    }
    return NIL;
  }

  /**
   * A first contact from `saddr`: counted at once as a success when the socket tables
   * say the port is open, otherwise kept until a judgment. A repeated contact (a
   * retransmitted SYN, a retry) is the same contact. A contact to another host whose
   * answer was read before it is judged at once by that answer (see answered): what
   * it reports then, if anything.
   */
  contact(pkt: Summary<A>, udp: number, open: boolean, foreign: boolean, wallMs: number): SlowReport<A> | null {
    const now = pkt.time;
    const hash = this.hashOf(pkt.saddr);
    const bucket = hash & (this.hashSize - 1);
    let slot = this.findIn(bucket, pkt.saddr);
    if (slot !== NIL && this.isExpired(slot, now)) {
      this.release(slot);
      slot = NIL;
    }
    if (slot === NIL) {
      // A source is followed from its first contact that may fail: a success alone
      // would only take a slot from a source with evidence.
      if (open) return null;
      slot = this.take(pkt.saddr, hash, now, wallMs);
      if (slot === NIL) return null;
    } else if (this.contactOf(slot, pkt.daddr, pkt.dport, udp) !== NIL) {
      return null;
    }
    const c = this.freeContact(slot);
    if (c === NIL) {
      this.counters.contactsDropped++;
      return null;
    }
    this.cPort[c] = pkt.dport;
    this.family.store(this.cDst, c, pkt.daddr);
    this.cTime[c] = now;
    this.cForeign[c] = foreign ? 1 : 0;
    this.lastNew[slot] = now;
    if (open) {
      this.cState[c] = SUCCEEDED | udp;
      this.succeeded(slot);
    } else {
      this.cState[c] = PENDING | udp;
      this.pending[slot] = (this.pending[slot] as number) + 1;
      this.pendingTotal++;
      // Only once answers have come: a stage without them pays nothing here.
      if (foreign && this.early !== null && this.early.held > 0) {
        const verdict = this.early.take(pkt.saddr, pkt.daddr, pkt.dport, udp, now);
        if (verdict !== null) return this.judgeAnswered(slot, c, verdict === 'accepted', now, wallMs);
      }
    }
    return null;
  }

  /** The ring's next entry, overwriting the oldest judged one; NIL when every entry waits for a judgment. */
  private freeContact(slot: number): number {
    const base = slot * CONTACTS;
    let r = this.ring[slot] as number;
    for (let i = 0; i < CONTACTS; i++) {
      const c = base + r;
      r = r + 1 === CONTACTS ? 0 : r + 1;
      if (((this.cState[c] as number) & OUTCOME) !== PENDING) {
        this.ring[slot] = r;
        return c;
      }
    }
    return NIL;
  }

  private succeeded(slot: number): void {
    this.successes[slot] = Math.min(0xffff, (this.successes[slot] as number) + 1);
    this.score[slot] = Math.max(0, (this.score[slot] as number) - 1);
  }

  /**
   * What the contacted host's answer says of a contact of `saddr` to another host
   * (daddr, port), if it still waits for a judgment: that it succeeded (a SYN+ACK, a
   * UDP datagram back) or that the host refused it (a reset). A contact to this host
   * is left to the socket tables: a packet that claims to come from this host can be
   * forged where libpcap watches. Returns whether `saddr` made that contact, judged or not.
   */
  evidence(saddr: A, daddr: A, port: number, udp: number, success: boolean, wallMs: number): boolean {
    const slot = this.find(saddr);
    if (slot === NIL) return false;
    const c = this.contactOf(slot, daddr, port, udp);
    if (c === NIL) return false;
    if (((this.cState[c] as number) & OUTCOME) === PENDING && this.cForeign[c] === 1) {
      this.resolve(slot, c, success, wallMs);
      this.judgedByTraffic++;
    }
    return true;
  }

  /**
   * The contacted host's answer to a contact of `saddr`, seen leaving the watched device
   * (an answer4 record): it judges the contact as evidence does, and a refusal is
   * checked at once, so that a fast sweep is reported at the contact that made it one
   * rather than at the next read with every contact judged by then. One that finds no
   * contact is kept for the contact it may answer, read after it (see contact).
   */
  answered(saddr: A, daddr: A, port: number, udp: number, success: boolean, now: number, wallMs: number): SlowReport<A> | null {
    const slot = this.pendingTotal === 0 ? NIL : this.find(saddr);
    const c = slot === NIL ? NIL : this.contactOf(slot, daddr, port, udp);
    if (c === NIL) {
      // Read before its contact, perhaps: the two handles are read independently. With no
      // contact waiting anywhere it is kept unlooked-for; one whose contact is remembered
      // then only takes an entry, since a remembered contact is never looked up again.
      this.early?.keep(saddr, daddr, port, udp, success, now);
      return null;
    }
    if (this.cForeign[c] !== 1 || ((this.cState[c] as number) & OUTCOME) !== PENDING) return null;
    return this.judgeAnswered(slot, c, success, now, wallMs);
  }

  /** Judges the waiting contact `c` of `slot` by its host's answer; a refusal is checked at once. */
  private judgeAnswered(slot: number, c: number, success: boolean, now: number, wallMs: number): SlowReport<A> | null {
    this.resolve(slot, c, success, wallMs);
    return success ? null : this.check(slot, now, false);
  }

  /** The source of a waiting contact to another host went on with the connection (see take). */
  clientAck(saddr: A, daddr: A, port: number): void {
    const slot = this.find(saddr);
    if (slot === NIL) return;
    const c = this.contactOf(slot, daddr, port, 0);
    if (c !== NIL && this.cForeign[c] === 1 && ((this.cState[c] as number) & OUTCOME) === PENDING) {
      this.cState[c] = (this.cState[c] as number) | CLIENT_ACK_BIT;
    }
  }

  private resolve(slot: number, c: number, success: boolean, wallMs: number): void {
    const udp = (this.cState[c] as number) & UDP_BIT;
    this.pending[slot] = (this.pending[slot] as number) - 1;
    this.pendingTotal--;
    this.judged[slot] = 1;
    if (success) {
      this.cState[c] = SUCCEEDED | udp;
      this.succeeded(slot);
      return;
    }
    this.cState[c] = FAILED | udp;
    this.failures[slot] = Math.min(0xffff, (this.failures[slot] as number) + 1);
    this.score[slot] = Math.min(0xffff, (this.score[slot] as number) + 1);
    this.lastFailWall[slot] = wallMs;
  }

  /** Marks the pending contacts of the source `peer` on local `port` as succeeded: the host has a socket for them. */
  peerRow(peer: A, port: number, udp: number): void {
    const slot = this.find(peer);
    if (slot === NIL || this.pending[slot] === 0) return;
    const base = slot * CONTACTS;
    for (let c = base; c < base + CONTACTS; c++) {
      const st = this.cState[c] as number;
      if ((st & OUTCOME) === PENDING && (st & UDP_BIT) === udp && this.cPort[c] === port && this.cForeign[c] === 0) {
        this.resolve(slot, c, true, 0);
      }
    }
  }

  /**
   * Judges every contact due by `now` against `ports`, read just now; returns the
   * sources that crossed a threshold. `wallNow` places contacts on the wall clock.
   */
  judge(ports: PortMap, mapped: (a: A, out: Uint32Array) => Uint32Array, now: number, wallNow: number): Array<SlowReport<A>> {
    const reports: Array<SlowReport<A>> = [];
    const address = new Uint32Array(4);
    this.judgedByTraffic = 0;
    const due = this.due;
    for (let slot = 0; slot < this.size; slot++) {
      if (this.pending[slot] === 0 && this.judged[slot] === 0) continue;
      // Oldest first, so that a sweep is reported with the hosts that made it one: a fast
      // sweep behind a gateway has all of its remembered contacts judged at one read,
      // after the wait for answers. The ring's order is not the contacts' (a new contact
      // steps over an entry still waiting), so the due ones are sorted by their times.
      const count = this.dueContacts(slot, now, due);
      let sweep: SlowReport<A> | null = null;
      for (let i = 0; i < count; i++) {
        const c = due[i] as number;
        const st = this.cState[c] as number;
        const age = elapsed(now, this.cTime[c] as number);
        const protocol: Protocol = (st & UDP_BIT) === 0 ? 'tcp' : 'udp';
        const open =
          this.cForeign[c] === 1
            ? (st & CLIENT_ACK_BIT) !== 0
            : ports.isOpen(protocol, mapped(this.family.read(this.cDst, c), address), this.cPort[c] as number);
        this.resolve(slot, c, open, wallNow - age);
        if (!open && sweep === null) sweep = this.check(slot, now, true);
      }
      this.judged[slot] = 0;
      const report = sweep ?? this.check(slot, now, false);
      if (report !== null) reports.push(report);
    }
    return reports;
  }

  /**
   * Puts the contacts of `slot` whose judgment is due at `now` into `out`, oldest first
   * (ties in the ring's order); returns how many. An insertion sort of at most CONTACTS
   * entries, at a read of the socket tables, never per packet.
   */
  private dueContacts(slot: number, now: number, out: Int32Array): number {
    const base = slot * CONTACTS;
    let count = 0;
    for (let k = 0, r = this.ring[slot] as number; k < CONTACTS; k++, r = r + 1 === CONTACTS ? 0 : r + 1) {
      const c = base + r;
      if (((this.cState[c] as number) & OUTCOME) !== PENDING) continue;
      const age = elapsed(now, this.cTime[c] as number);
      if (age < (this.cForeign[c] === 1 ? FOREIGN_WAIT_MS : LOCAL_GRACE_MS)) continue;
      let i = count++;
      for (; i > 0 && elapsed(now, this.cTime[out[i - 1] as number] as number) < age; i--) out[i] = out[i - 1] as number;
      out[i] = c;
    }
    return count;
  }

  /** Forgets, unjudged, every waiting contact whose judgment is due at `now` (the socket tables could not be read). */
  dropDue(now: number): void {
    this.judgedByTraffic = 0;
    for (let slot = 0; slot < this.size && this.pendingTotal > 0; slot++) {
      if (this.pending[slot] === 0) continue;
      for (let c = slot * CONTACTS; c < (slot + 1) * CONTACTS; c++) {
        if (((this.cState[c] as number) & OUTCOME) !== PENDING) continue;
        if (elapsed(now, this.cTime[c] as number) < (this.cForeign[c] === 1 ? FOREIGN_WAIT_MS : LOCAL_GRACE_MS)) continue;
        this.cState[c] = FREE;
        this.pending[slot] = (this.pending[slot] as number) - 1;
        this.pendingTotal--;
        this.counters.contactsDropped++;
      }
    }
  }

  /**
   * What the chains hold (for tests): sources linked from the buckets, sources stored in
   * slots, and the longest chain. A slot released but still linked, or linked twice,
   * makes the first two differ.
   */
  census(): { linked: number; stored: number; longest: number } {
    let linked = 0;
    let longest = 0;
    for (let b = 0; b < this.hashSize; b++) {
      let chain = 0;
      for (let s = this.hash[b] as number; s !== NIL && chain <= this.size; s = this.next[s] as number) chain++;
      linked += chain;
      longest = Math.max(longest, chain);
    }
    let stored = 0;
    for (let slot = 0; slot < this.size; slot++) if (!this.family.isUnused(this.saddr, slot)) stored++;
    return { linked, stored, longest };
  }

  /** The oldest contact time still waiting, as an age at `now`, or -1. */
  oldestPendingAge(now: number): number {
    let oldest = -1;
    for (let slot = 0; slot < this.size && this.pendingTotal > 0; slot++) {
      if (this.pending[slot] === 0) continue;
      for (let c = slot * CONTACTS; c < (slot + 1) * CONTACTS; c++) {
        if (((this.cState[c] as number) & OUTCOME) !== PENDING) continue;
        const age = elapsed(now, this.cTime[c] as number) - (this.cForeign[c] === 1 ? FOREIGN_WAIT_MS - LOCAL_GRACE_MS : 0);
        if (age > oldest) oldest = age;
      }
    }
    return oldest;
  }

  /** Keeps `addr` from being reported until it is forgotten: scanlogd's rule reported it. */
  silence(addr: A): void {
    const slot = this.find(addr);
    if (slot !== NIL) this.reported[slot] = 1;
  }

  /**
   * The report `slot` makes now, if it crossed a threshold for the first time. With
   * `sweepOnly`, in the middle of a judgment, only the sweep threshold is tried: failed
   * contacts only add to a sweep, whereas a success judged later may still take the
   * slow-scan score back below its threshold.
   */
  private check(slot: number, now: number, sweepOnly: boolean): SlowReport<A> | null {
    if (this.reported[slot] !== 0) return null;
    const sweep = this.widestSweep(slot);
    let kind: SlowKind;
    if (sweep.hosts >= this.params.sweepHosts) kind = 'sweep';
    else if (!sweepOnly && (this.score[slot] as number) >= this.params.slowFailures) kind = 'slow-scan';
    else return null;
    this.reported[slot] = 1;
    if (kind === 'sweep') this.counters.sweeps++;
    else this.counters.slowScans++;
    return {
      kind,
      saddr: this.family.read(this.saddr, slot),
      family: this.family.name,
      failed: this.failedContacts(slot),
      failures: this.failures[slot] as number,
      successes: this.successes[slot] as number,
      port: sweep.port,
      protocol: sweep.protocol,
      hosts: sweep.hosts,
      first: this.firstWall[slot] as number,
      last: this.lastFailWall[slot] as number,
      time: now,
    };
  }

  /**
   * The port whose failed contacts reached the most hosts. A source's remembered
   * contacts are distinct, so each failed one of a port is another host.
   */
  private widestSweep(slot: number): { port: number; protocol: Protocol; hosts: number } {
    const base = slot * CONTACTS;
    let best = { port: 0, protocol: 'tcp' as Protocol, hosts: 0 };
    for (let c = base; c < base + CONTACTS; c++) {
      const st = this.cState[c] as number;
      if ((st & OUTCOME) !== FAILED) continue;
      let hosts = 0;
      for (let d = base; d < base + CONTACTS; d++) if (this.cState[d] === st && this.cPort[d] === this.cPort[c]) hosts++;
      if (hosts > best.hosts) best = { port: this.cPort[c] as number, protocol: (st & UDP_BIT) === 0 ? 'tcp' : 'udp', hosts };
    }
    return best;
  }

  /** The failed contacts of `slot`, oldest first. */
  private failedContacts(slot: number): Array<FailedContact<A>> {
    const base = slot * CONTACTS;
    const order: number[] = [];
    for (let c = base; c < base + CONTACTS; c++) if (((this.cState[c] as number) & OUTCOME) === FAILED) order.push(c);
    order.sort((a, b) => elapsed(this.cTime[a] as number, this.cTime[b] as number));
    return order.map((c) => ({
      daddr: this.family.read(this.cDst, c),
      port: this.cPort[c] as number,
      protocol: ((this.cState[c] as number) & UDP_BIT) === 0 ? 'tcp' : 'udp',
    }));
  }
}

/** IPv4 addresses in the IPv4-mapped form the socket tables use. */
function mapped4(a: number, out: Uint32Array): Uint32Array {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0xffff;
  out[3] = a;
  return out;
}
const mapped6 = (a: Uint32Array): Uint32Array => a;

/** Feeds the socket tables' rows to `sink`; false when a table could not be read (anything else: all were). */
export type SocketRead = (sink: SocketSink) => boolean | void;

export interface SlowStageOptions {
  /** Whether IPv6 records come (--ipv6): its table is allocated only then. */
  ipv6: boolean;
  /**
   * Whether every destination is this host (the raw socket: the kernel gives it only
   * what this host receives). Otherwise (libpcap) a destination is this host's only
   * when its sockets show the address, and other hosts' contacts wait for an answer.
   */
  localOnly: boolean;
  /** The key of the tables' hash (a test's, to place sources in one bucket); random otherwise. */
  hashKey?: Uint32Array;
  /**
   * This host's directed broadcast addresses, as its interfaces had them at start: a
   * datagram to one is no contact. One added later is taken for a host's address. With
   * none but loopback's, every address ending in .255 is taken for a broadcast.
   */
  broadcasts?: readonly number[];
}

/**
 * The second stage for every lane: one table of sources per address family (a host
 * that probes over TCP and UDP is one source), the ports this host's sockets show, and
 * when to read them again.
 */
export class SlowScanStage {
  readonly counters: SlowCounters = { slowScans: 0, sweeps: 0, sourcesRefused: 0, contactsDropped: 0, refreshes: 0 };
  readonly ipv4: SourceTable<number>;
  readonly ipv6: SourceTable<Uint32Array> | null;
  private readonly scratch = new Uint32Array(4);
  private readonly broadcasts: Uint32Array;
  /**
   * Whether every address ending in .255 is taken for a broadcast: the host had no
   * IPv4 network but loopback's at start (started before DHCP gave it an address), so
   * its networks' broadcasts are unknown, and its neighbours' chatter to theirs would
   * otherwise count as contacts to hosts. The common prefixes (a /24 or longer, ending
   * in .255) are right then; a host at x.y.z.255 of a wider network goes unwatched.
   */
  private readonly lastOctetBroadcast: boolean;
  private lastRefresh = 0;
  private refreshed = false;
  private lastCostMs = 0;
  private refusedSaid = 0;
  private refusalSaidAt: number | null = null;
  /** What a read of the socket tables feeds: the open ports, and the connections that prove a contact. */
  private readonly sink: SocketSink;

  constructor(
    readonly params: Readonly<SlowScanParams>,
    readonly ports: PortMap,
    private readonly options: Readonly<SlowStageOptions>,
  ) {
    // Answers come only from a device's answers handle, never with the raw socket.
    const answers = !options.localOnly;
    this.ipv4 = new SourceTable(IPV4, params, this.counters, answers, options.hashKey);
    this.ipv6 = options.ipv6 ? new SourceTable(IPV6, params, this.counters, answers, options.hashKey) : null;
    this.broadcasts = Uint32Array.from(options.broadcasts ?? []);
    this.lastOctetBroadcast = !this.broadcasts.some((b) => b >>> 24 !== 127);
    this.sink = {
      listener: (protocol, local, port) => ports.listener(protocol, local, port),
      connection: (protocol, local, port, peer) => {
        ports.connection(protocol, local);
        const udp = protocol === 'udp' ? UDP_BIT : 0;
        if (peer[0] === 0 && peer[1] === 0 && peer[2] === 0xffff) {
          if (this.ipv4.pendingTotal > 0) this.ipv4.peerRow(peer[3] as number, port, udp);
        } else if (this.ipv6 !== null && this.ipv6.pendingTotal > 0) {
          this.ipv6.peerRow(peer, port, udp);
        }
      },
    };
  }

  get tableBytes(): number {
    return this.ipv4.tableBytes + (this.ipv6?.tableBytes ?? 0) + this.ports.tableBytes;
  }

  /**
   * scanlogd's rule reported `saddr`: the stage says nothing more of it while it is
   * remembered, so that a fast scan is one line, not also a "slow scan" of 0 s.
   */
  silence(saddr: number | Uint32Array): void {
    if (typeof saddr === 'number') this.ipv4.silence(saddr);
    else this.ipv6?.silence(saddr);
  }

  /** Contacts waiting for a judgment. */
  get pending(): number {
    return this.ipv4.pendingTotal + (this.ipv6?.pendingTotal ?? 0);
  }

  /**
   * An IPv4 TCP segment or UDP datagram, at `wallMs`: what it reports at once, if
   * anything (a contact judged by an answer read before it; see answer4).
   */
  take4(pkt: Summary<number>, protocol: Protocol, wallMs: number): SlowReport<number> | null {
    return this.take(
      this.ipv4,
      pkt,
      protocol,
      isGroupAddress4(pkt.daddr, this.broadcasts, this.lastOctetBroadcast),
      mapped4(pkt.daddr, this.scratch),
      wallMs,
    );
  }

  take6(pkt: Summary<Uint32Array>, protocol: Protocol, wallMs: number): SlowReport<Uint32Array> | null {
    return this.ipv6 === null ? null : this.take(this.ipv6, pkt, protocol, isGroupAddress6(pkt.daddr), mapped6(pkt.daddr), wallMs);
  }

  /**
   * A host's answer that left through the watched device (an answer4 record), at
   * `wallMs`: what it reports at once, if anything. One that finds no contact is kept
   * a short while for the contact it answers, which may be read after it.
   */
  answer4(answer: Readonly<Answer4Record>, wallMs: number): SlowReport<number> | null {
    const udp = answer.protocol === 'udp' ? UDP_BIT : 0;
    return this.ipv4.answered(answer.source, answer.host, answer.port, udp, answer.accepted, answer.time, wallMs);
  }

  private take<A>(
    table: SourceTable<A>,
    pkt: Summary<A>,
    protocol: Protocol,
    group: boolean,
    daddr: Uint32Array,
    wallMs: number,
  ): SlowReport<A> | null {
    // No source, as in scanlogd's engine; and the table marks its unused slots with this
    // address, so a source stored with it would be linked twice and corrupt its chains.
    if (table.family.isUnspecified(pkt.saddr)) return null;
    if (protocol === 'tcp') {
      const flags = pkt.flags;
      if ((flags & (TH_ACK | TH_RST)) === 0) return group ? null : this.contact(table, pkt, 0, daddr, wallMs);
      // The contacted host's answer judges a waiting contact at once: its SYN+ACK that
      // the contact succeeded, its reset that it was refused. What the source sends
      // never judges a contact to this host (a scanner can send an ACK beside every
      // probe as easily as a client); for another host it is kept as the verdict if no
      // answer comes, since a device that shows one direction only never shows one.
      if (table.pendingTotal === 0) return null;
      if ((flags & TH_ACK) !== 0) table.clientAck(pkt.saddr, pkt.daddr, pkt.dport);
      if ((flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK)) table.evidence(pkt.daddr, pkt.saddr, pkt.sport, 0, true, wallMs);
      else if ((flags & TH_RST) !== 0) table.evidence(pkt.daddr, pkt.saddr, pkt.sport, 0, false, wallMs);
      return null;
    }
    // A datagram back from where a contact went is its answer, not a probe.
    if (table.pendingTotal > 0 && table.evidence(pkt.daddr, pkt.saddr, pkt.sport, UDP_BIT, true, wallMs)) return null;
    return group ? null : this.contact(table, pkt, UDP_BIT, daddr, wallMs);
  }

  private contact<A>(table: SourceTable<A>, pkt: Summary<A>, udp: number, daddr: Uint32Array, wallMs: number): SlowReport<A> | null {
    const local = this.options.localOnly || this.ports.isLocal(daddr);
    const open = local && this.ports.isOpen(udp === 0 ? 'tcp' : 'udp', daddr, pkt.dport);
    return table.contact(pkt, udp, open, !local, wallMs);
  }

  /**
   * Whether the socket tables should be read at `now`: when contacts wait whose grace
   * is over, or IDLE_REFRESH_MS after the last read; never sooner than MIN_REFRESH_MS,
   * nor than COST_FACTOR times what the last read cost.
   */
  wantsRefresh(now: number): boolean {
    if (!this.refreshed) return true;
    const since = elapsed(now, this.lastRefresh);
    // Negative: longer ago than the signed 32-bit clock can say (the monitor was stopped).
    if (since < 0) return true;
    if (since < Math.max(MIN_REFRESH_MS, COST_FACTOR * this.lastCostMs)) return false;
    if (since >= IDLE_REFRESH_MS) return true;
    if (this.ipv4.judgedByTraffic > 0 || (this.ipv6?.judgedByTraffic ?? 0) > 0) return true;
    return this.pending > 0 && Math.max(this.ipv4.oldestPendingAge(now), this.ipv6?.oldestPendingAge(now) ?? -1) >= LOCAL_GRACE_MS;
  }

  /**
   * Reads the socket tables through `read` (which feeds every row to the sink it is
   * given, and returns false when a table could not be read) at `now`, and judges the
   * contacts that waited for them. After a read that failed, the contacts due are
   * dropped unjudged: a port the failed table would have shown open must not make a
   * client's contact a failure.
   */
  refresh(read: SocketRead, now: number, wallNow: number): Array<SlowReport<number> | SlowReport<Uint32Array>> {
    this.ipv4.releaseExpired(now);
    this.ipv6?.releaseExpired(now);
    this.ports.clear();
    const complete = read(this.sink) !== false;
    this.lastRefresh = now;
    this.refreshed = true;
    this.counters.refreshes++;
    if (!complete) {
      this.ipv4.dropDue(now);
      this.ipv6?.dropDue(now);
      return [];
    }
    const reports: Array<SlowReport<number> | SlowReport<Uint32Array>> = this.ipv4.judge(this.ports, mapped4, now, wallNow);
    if (this.ipv6 !== null) reports.push(...this.ipv6.judge(this.ports, mapped6, now, wallNow));
    return reports;
  }

  /**
   * The sources refused since the last line that said so, once REFUSAL_LINE_MS have
   * passed since that line (0 otherwise, and when there were none): a refused source
   * is one the stage is blind to, which the log should show, but not once per packet.
   */
  refusalsToSay(now: number): number {
    const refused = this.counters.sourcesRefused - this.refusedSaid;
    if (refused === 0) return 0;
    if (this.refusalSaidAt !== null) {
      const since = elapsed(now, this.refusalSaidAt);
      if (since >= 0 && since < REFUSAL_LINE_MS) return 0;
    }
    this.refusedSaid = this.counters.sourcesRefused;
    this.refusalSaidAt = now;
    return refused;
  }

  /** What the last read of the socket tables cost, measured by the caller. */
  noteRefreshCost(ms: number): void {
    this.lastCostMs = ms;
  }
}

/** The line saying that `refused` new sources were not followed. */
export function refusalMessage(refused: number, slowSources: number): string {
  return `slow scans: ${refused} new ${refused === 1 ? 'source' : 'sources'} not followed, every slot they could take holds a source with two failed contacts (--slow-sources ${slowSources})`;
}

/** Each value once, in the order first seen. */
function distinct<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** The event of a second-stage report; `verdict` is what its flood limit did with the line. */
export function slowEvent(report: SlowReport, verdict: SyslogVerdict, wallMs: number): SlowScanEvent | SweepEvent {
  const shared = {
    time: wallMs,
    family: report.family,
    source: addressText(report.saddr),
    failed: report.failures,
    succeeded: report.successes,
    first: report.first,
    last: report.last,
    duration_ms: Math.max(0, report.last - report.first),
    syslog: verdict,
  };
  if (report.kind === 'sweep') {
    const swept = report.failed.filter((c) => c.port === report.port && c.protocol === report.protocol);
    return {
      event: 'sweep',
      ...shared,
      destinations: distinct(swept.map((c) => addressText(c.daddr))),
      protocol: report.protocol,
      port: report.port,
      hosts: report.hosts,
    };
  }
  return {
    event: 'slow_scan',
    ...shared,
    destinations: distinct(report.failed.map((c) => addressText(c.daddr))),
    protocols: distinct(report.failed.map((c) => c.protocol)).sort(),
    ports: distinct(report.failed.map((c) => c.port)),
  };
}
