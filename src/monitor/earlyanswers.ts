// Hosts' answers that reached the second stage before the contact they answer: the
// capture process reads a device and the answers leaving it through two handles, so an
// answer can come first. Kept a few seconds in memory fixed at start, each used once.

import { elapsed } from '../shared/clock.js';
import type { AddressFamily } from './addresses.js';
import { keyedHash } from './engine.js';

/**
 * How far apart, on the capture clock, an answer and the contact it judges may be. The
 * answer follows its contact on the wire within a round trip on the link; it is read
 * first only because the device handle is behind the answers handle, by what one of
 * them has buffered (milliseconds, seconds at the very worst under load). Any longer
 * and the answer may be to an earlier probe of that port, which must not judge a new one.
 */
export const ANSWER_WINDOW_MS = 2000;
/**
 * Buckets, each a ring of ANSWER_WAYS entries, the oldest overwritten. An answer is lost
 * only when four more land in its bucket before its contact is read: with 256 answers
 * that matched nothing between the two, about 2 in 100.
 */
export const ANSWER_BUCKETS = 256;
export const ANSWER_WAYS = 4;
const ENTRIES = ANSWER_BUCKETS * ANSWER_WAYS;

// An entry's state byte: 0 free or used; otherwise HELD, with the answer's verdict and protocol.
const HELD = 1;
const ACCEPTED = 2;
const UDP_BIT = 4;

/** What a kept answer says of the contact it answers. */
export type EarlyVerdict = 'accepted' | 'refused' | null;

export class EarlyAnswers<A> {
  private readonly source: Uint32Array;
  private readonly host: Uint32Array;
  private readonly port: Uint16Array;
  private readonly time: Uint32Array;
  private readonly state: Uint8Array;
  /** Each bucket's next entry to write: its oldest. */
  private readonly cursor: Uint8Array;
  /** Entries held and not used (an expired one counts until it is overwritten or seen expired): none, and a contact looks up nothing. */
  held = 0;

  constructor(
    private readonly family: AddressFamily<A>,
    private readonly key: Uint32Array,
  ) {
    this.source = new Uint32Array(ENTRIES * family.words);
    this.host = new Uint32Array(ENTRIES * family.words);
    this.port = new Uint16Array(ENTRIES);
    this.time = new Uint32Array(ENTRIES);
    this.state = new Uint8Array(ENTRIES);
    this.cursor = new Uint8Array(ANSWER_BUCKETS);
  }

  get tableBytes(): number {
    return [this.source, this.host, this.port, this.time, this.state, this.cursor].reduce((sum, t) => sum + t.byteLength, 0);
  }

  /**
   * The first entry of the bucket of (source, host, port): keyed, so that a sender who
   * makes hosts answer chosen contacts cannot choose contacts that share a bucket.
   */
  private bucketBase(source: A, host: A, port: number, udp: number): number {
    let h = keyedHash(this.family.foldOf(source, this.key), this.key);
    h = keyedHash(h ^ this.family.foldOf(host, this.key), this.key);
    h = keyedHash(h ^ ((port << 3) | udp), this.key);
    return (h & (ANSWER_BUCKETS - 1)) * ANSWER_WAYS;
  }

  /**
   * Keeps `host`'s answer, at `now`, to a contact of `source` on `port` (`udp` non-zero
   * for UDP) that the stage has not seen (yet). Constant work: it takes the bucket's
   * first entry that is free or out of the window, else overwrites its oldest.
   */
  keep(source: A, host: A, port: number, udp: number, accepted: boolean, now: number): void {
    const protocol = udp === 0 ? 0 : UDP_BIT;
    const base = this.bucketBase(source, host, port, protocol);
    let e = base;
    while (e < base + ANSWER_WAYS && this.state[e] !== 0 && !this.stale(e, now)) e++;
    if (e === base + ANSWER_WAYS) {
      const way = this.cursor[base / ANSWER_WAYS] as number;
      this.cursor[base / ANSWER_WAYS] = (way + 1) % ANSWER_WAYS;
      e = base + way;
    }
    if (this.state[e] === 0) this.held++;
    this.family.store(this.source, e, source);
    this.family.store(this.host, e, host);
    this.port[e] = port;
    this.time[e] = now;
    this.state[e] = HELD | (accepted ? ACCEPTED : 0) | protocol;
  }

  /**
   * Whether entry `e` can judge no contact made at `now` or later: kept more than the
   * window ago, or stamped more than the window ahead, which on the wrapping 32-bit
   * clock means so long ago that its age came round again.
   */
  private stale(e: number, now: number): boolean {
    const age = elapsed(now, this.time[e] as number);
    return age > ANSWER_WINDOW_MS || age < -ANSWER_WINDOW_MS;
  }

  /**
   * The verdict of a kept answer to the contact `source` made at `now` to (host, port),
   * if one arrived within ANSWER_WINDOW_MS of it; the answer is used up. Null otherwise.
   */
  take(source: A, host: A, port: number, udp: number, now: number): EarlyVerdict {
    const protocol = udp === 0 ? 0 : UDP_BIT;
    const base = this.bucketBase(source, host, port, protocol);
    for (let e = base; e < base + ANSWER_WAYS; e++) {
      const st = this.state[e] as number;
      if (st === 0) continue;
      if (this.stale(e, now)) {
        // Too old for this contact, and so for any later one.
        this.state[e] = 0;
        this.held--;
        continue;
      }
      if ((st & UDP_BIT) !== protocol || this.port[e] !== port) continue;
      if (!this.family.equals(this.source, e, source) || !this.family.equals(this.host, e, host)) continue;
      this.state[e] = 0;
      this.held--;
      return (st & ACCEPTED) !== 0 ? 'accepted' : 'refused';
    }
    return null;
  }
}
