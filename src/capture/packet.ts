// The capture side's only look at packet bytes: scanlogd's header sanity checks and
// the copy of the fields the detector needs into a record. IPv4 TCP is scanlogd's own
// case; IPv4 UDP and IPv6 (TCP, UDP) are looked at only when switched on.

import { Answer6Offset, AnswerOffset, AnswerVerdict, IPPROTO_TCP, IPPROTO_UDP, Offset, Offset6, RecordType } from '../shared/record.js';

// Byte offsets in the IPv4 header and in the TCP header.
const IP_TOS = 1;
const IP_FRAGMENT = 6;
const IP_TTL = 8;
const IP_PROTOCOL = 9;
const IP_SADDR = 12;
const IP_DADDR = 16;
const TCP_SPORT = 0;
const TCP_DPORT = 2;
const TCP_FLAGS = 13;
const IP_OFFMASK = 0x1fff;
const IP_MIN_HEADER = 20;
const IPPROTO_ICMP = 1;
const ICMP_DEST_UNREACHABLE = 3;
const ICMP_FRAGMENTATION_NEEDED = 4;
/** An ICMP error's own header: type, code, checksum, unused; the quoted packet follows. */
const ICMP_HEADER = 8;
const TH_RST = 0x04;
const TH_SYN_ACK = 0x12;
const TCP_MIN_HEADER = 20;
const UDP_HEADER = 8;
// The IPv6 header and the extension headers walked to reach TCP or UDP.
const IP6_HEADER = 40;
const IP6_NEXT_HEADER = 6;
const IP6_HOP_LIMIT = 7;
const IP6_SADDR = 8;
const IP6_DADDR = 24;
const EXT_HOP_BY_HOP = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_DESTINATION = 60;
const IPPROTO_ICMPV6 = 58;
const ICMP6_DEST_UNREACHABLE = 1;
/**
 * The ICMPv6 destination unreachable codes (RFC 4443) that refuse the contact quoted:
 * no route (0, Linux's answer from an unreachable route, as IPv4's net unreachable
 * refuses), administratively prohibited (1), address unreachable (3: a router whose
 * neighbour discovery got no answer, the IPv6 form of host unreachable), port
 * unreachable (4), and the policy codes (5 source address failed ingress/egress policy,
 * 6 reject route). Not 2 (beyond the scope of the source address), 7 (error in a
 * source routing header) or 8 (headers too long): they are about the packet's own
 * source or headers, and say nothing of whether the host would take the contact.
 */
const ICMP6_REFUSING_CODES = 0b1111011;
const FRAGMENT_HEADER = 8;
const FRAGMENT_OFFSET_MASK = 0xfff8;
/**
 * Extension headers walked at most before TCP or UDP. RFC 8200 allows each kind once
 * (destination options twice) so a legitimate packet has at most 6; a longer chain is
 * someone spending our CPU, or hiding the transport header beyond the snap length.
 */
export const MAX_EXTENSION_HEADERS = 8;
/** scanlogd reads at most a maximal IP header plus a minimal TCP header. */
export const CAPTURE_SNAPLEN = 60 + TCP_MIN_HEADER;
/**
 * With --ipv6, libpcap captures this much, so that a few extension headers fit before
 * the TCP header; a chain longer than that is rejected as cut off.
 */
export const CAPTURE_SNAPLEN6 = 256;

/** Why a packet gives no record; `not-watched`: neither TCP nor, with --udp, UDP. */
export type PacketVerdict =
  | 'ok'
  | 'short'
  | 'bad-ihl'
  | 'not-watched'
  | 'fragment'
  | 'short-tcp'
  | 'short-udp'
  | 'short-extension'
  | 'too-many-extensions'
  | 'short-icmp';

/** What the capture turns into records beyond IPv4 TCP (--udp, --ipv6). */
export interface Watched {
  udp: boolean;
  ipv6: boolean;
}

export const CLASSIC: Readonly<Watched> = { udp: false, ipv6: false };

/**
 * Checks the first `length` bytes of `pkt` (an IP packet as the raw socket gives it,
 * or as libpcap does without its link header) and, when it is a packet the detector
 * looks at, writes its record at `offset` of `out` (whose size the type byte says).
 * Never throws for any bytes; returns why a packet was skipped. Without --ipv6 every
 * packet is read as IPv4, as scanlogd does, whatever its version field.
 */
export function packetToRecord(
  pkt: Buffer,
  length: number,
  time: number,
  out: Buffer,
  offset: number,
  watched: Readonly<Watched> = CLASSIC,
): PacketVerdict {
  const size = Math.min(length, pkt.length);
  if (watched.ipv6 && size > 0 && (pkt[0] as number) >> 4 === 6) return ipv6ToRecord(pkt, size, time, out, offset, watched.udp);
  if (size < IP_MIN_HEADER) return 'short';
  const ihl = ((pkt[0] as number) & 0x0f) * 4;
  if (ihl < IP_MIN_HEADER) return 'bad-ihl';
  const protocol = pkt[IP_PROTOCOL];
  const udp = protocol === IPPROTO_UDP && watched.udp;
  if (protocol !== IPPROTO_TCP && !udp) return 'not-watched';
  // Only the first fragment carries the TCP (or UDP) header.
  if ((pkt.readUInt16BE(IP_FRAGMENT) & IP_OFFMASK) !== 0) return 'fragment';
  if (ihl + (udp ? UDP_HEADER : TCP_MIN_HEADER) > size) return udp ? 'short-udp' : 'short-tcp';

  // Byte by byte: Buffer.copy's native call costs more than these twelve moves.
  for (let i = 0; i < 4; i++) {
    out[offset + Offset.saddr + i] = pkt[IP_SADDR + i] as number;
    out[offset + Offset.daddr + i] = pkt[IP_DADDR + i] as number;
  }
  for (let i = 0; i < 2; i++) {
    out[offset + Offset.sport + i] = pkt[ihl + TCP_SPORT + i] as number;
    out[offset + Offset.dport + i] = pkt[ihl + TCP_DPORT + i] as number;
  }
  out[offset + Offset.flags] = udp ? 0 : (pkt[ihl + TCP_FLAGS] as number);
  out[offset + Offset.tos] = pkt[IP_TOS] as number;
  out[offset + Offset.ttl] = pkt[IP_TTL] as number;
  out[offset + Offset.type] = udp ? RecordType.udp4 : RecordType.tcp4;
  out.writeUInt32BE(time >>> 0, offset + Offset.time);
  return 'ok';
}

/**
 * An IPv6 packet: the extension headers that may stand before TCP or UDP are walked
 * (hop-by-hop, routing, destination options, fragment), at most MAX_EXTENSION_HEADERS
 * of them, each only if it lies whole within the captured bytes; a fragment other
 * than the first has no transport header. Anything else (ICMPv6, ESP, no next header)
 * is not looked at.
 */
function ipv6ToRecord(pkt: Buffer, size: number, time: number, out: Buffer, offset: number, watchUdp: boolean): PacketVerdict {
  if (size < IP6_HEADER) return 'short';
  let next = pkt[IP6_NEXT_HEADER] as number;
  let at = IP6_HEADER;
  for (let walked = 0; next !== IPPROTO_TCP && next !== IPPROTO_UDP; walked++) {
    if (next !== EXT_HOP_BY_HOP && next !== EXT_ROUTING && next !== EXT_DESTINATION && next !== EXT_FRAGMENT) return 'not-watched';
    if (walked === MAX_EXTENSION_HEADERS) return 'too-many-extensions';
    if (at + 2 > size) return 'short-extension';
    let extLength: number;
    if (next === EXT_FRAGMENT) {
      if (at + FRAGMENT_HEADER > size) return 'short-extension';
      if ((pkt.readUInt16BE(at + 2) & FRAGMENT_OFFSET_MASK) !== 0) return 'fragment';
      extLength = FRAGMENT_HEADER;
    } else {
      extLength = ((pkt[at + 1] as number) + 1) * 8;
    }
    next = pkt[at] as number;
    at += extLength;
  }
  const udp = next === IPPROTO_UDP;
  if (udp && !watchUdp) return 'not-watched';
  if (at + (udp ? UDP_HEADER : TCP_MIN_HEADER) > size) return udp ? 'short-udp' : 'short-tcp';

  // Move by move, written out: V8 does not unroll loops, and as loops these moves took
  // twice as long (each pass pays for its index arithmetic and its checks); fill and
  // copy are native calls, which cost more still (bench/lanes.ts, docs/performance.md).
  // Bytes 8-14 have no field and are zero.
  out[offset + 8] = 0;
  out[offset + 9] = 0;
  out[offset + 10] = 0;
  out[offset + 11] = 0;
  out[offset + 12] = 0;
  out[offset + 13] = 0;
  out[offset + 14] = 0;
  const saddr = offset + Offset6.saddr;
  out[saddr] = pkt[IP6_SADDR] as number;
  out[saddr + 1] = pkt[IP6_SADDR + 1] as number;
  out[saddr + 2] = pkt[IP6_SADDR + 2] as number;
  out[saddr + 3] = pkt[IP6_SADDR + 3] as number;
  out[saddr + 4] = pkt[IP6_SADDR + 4] as number;
  out[saddr + 5] = pkt[IP6_SADDR + 5] as number;
  out[saddr + 6] = pkt[IP6_SADDR + 6] as number;
  out[saddr + 7] = pkt[IP6_SADDR + 7] as number;
  out[saddr + 8] = pkt[IP6_SADDR + 8] as number;
  out[saddr + 9] = pkt[IP6_SADDR + 9] as number;
  out[saddr + 10] = pkt[IP6_SADDR + 10] as number;
  out[saddr + 11] = pkt[IP6_SADDR + 11] as number;
  out[saddr + 12] = pkt[IP6_SADDR + 12] as number;
  out[saddr + 13] = pkt[IP6_SADDR + 13] as number;
  out[saddr + 14] = pkt[IP6_SADDR + 14] as number;
  out[saddr + 15] = pkt[IP6_SADDR + 15] as number;
  const daddr = offset + Offset6.daddr;
  out[daddr] = pkt[IP6_DADDR] as number;
  out[daddr + 1] = pkt[IP6_DADDR + 1] as number;
  out[daddr + 2] = pkt[IP6_DADDR + 2] as number;
  out[daddr + 3] = pkt[IP6_DADDR + 3] as number;
  out[daddr + 4] = pkt[IP6_DADDR + 4] as number;
  out[daddr + 5] = pkt[IP6_DADDR + 5] as number;
  out[daddr + 6] = pkt[IP6_DADDR + 6] as number;
  out[daddr + 7] = pkt[IP6_DADDR + 7] as number;
  out[daddr + 8] = pkt[IP6_DADDR + 8] as number;
  out[daddr + 9] = pkt[IP6_DADDR + 9] as number;
  out[daddr + 10] = pkt[IP6_DADDR + 10] as number;
  out[daddr + 11] = pkt[IP6_DADDR + 11] as number;
  out[daddr + 12] = pkt[IP6_DADDR + 12] as number;
  out[daddr + 13] = pkt[IP6_DADDR + 13] as number;
  out[daddr + 14] = pkt[IP6_DADDR + 14] as number;
  out[daddr + 15] = pkt[IP6_DADDR + 15] as number;
  out[offset + Offset6.sport] = pkt[at + TCP_SPORT] as number;
  out[offset + Offset6.sport + 1] = pkt[at + TCP_SPORT + 1] as number;
  out[offset + Offset6.dport] = pkt[at + TCP_DPORT] as number;
  out[offset + Offset6.dport + 1] = pkt[at + TCP_DPORT + 1] as number;
  out[offset + Offset6.flags] = udp ? 0 : (pkt[at + TCP_FLAGS] as number);
  // The traffic class straddles the first two bytes, after the version.
  out[offset + Offset6.tos] = (((pkt[0] as number) & 0x0f) << 4) | ((pkt[1] as number) >> 4);
  out[offset + Offset6.ttl] = pkt[IP6_HOP_LIMIT] as number;
  out[offset + Offset6.protocol] = next;
  out[offset + Offset6.type] = RecordType.ip6;
  out.writeUInt32BE(time >>> 0, offset + Offset6.time);
  return 'ok';
}

/**
 * A packet leaving through the watched device, which libpcap's answers filter passed
 * (pcap.ts): a host's SYN+ACK or reset, or an ICMP destination unreachable that
 * quotes a TCP segment or (with --udp) a UDP datagram; IPv6 ones (ICMPv6 for ICMP)
 * only with --ipv6. Writes the answer record of the contact it answers at `offset` of
 * `out` (answer4 or answer6); anything else gives no record. Never throws.
 */
export function answerToRecord(
  pkt: Buffer,
  length: number,
  time: number,
  out: Buffer,
  offset: number,
  watched: Readonly<Watched>,
): PacketVerdict {
  const size = Math.min(length, pkt.length);
  const udp = watched.udp;
  if (watched.ipv6 && size > 0 && (pkt[0] as number) >> 4 === 6) return answer6ToRecord(pkt, size, time, out, offset, udp);
  if (size < IP_MIN_HEADER) return 'short';
  const ihl = ((pkt[0] as number) & 0x0f) * 4;
  if (ihl < IP_MIN_HEADER) return 'bad-ihl';
  if ((pkt.readUInt16BE(IP_FRAGMENT) & IP_OFFMASK) !== 0) return 'fragment';
  const protocol = pkt[IP_PROTOCOL];
  if (protocol === IPPROTO_TCP) {
    if (ihl + TCP_MIN_HEADER > size) return 'short-tcp';
    const verdict = segmentVerdict(pkt[ihl + TCP_FLAGS] as number);
    if (verdict === 0) return 'not-watched';
    // The answer goes from the contacted host and port back to the contact's source.
    writeAnswer(pkt, IP_SADDR, IP_DADDR, ihl + TCP_SPORT, ihl + TCP_DPORT, verdict, IPPROTO_TCP, time, out, offset, false);
    return 'ok';
  }
  if (protocol !== IPPROTO_ICMP) return 'not-watched';
  if (ihl + ICMP_HEADER > size) return 'short-icmp';
  // Fragmentation needed is path MTU discovery, not a refusal.
  if (pkt[ihl] !== ICMP_DEST_UNREACHABLE || pkt[ihl + 1] === ICMP_FRAGMENTATION_NEEDED) return 'not-watched';
  // The quoted packet is the contact itself, from its source to the host that refused
  // it (or that a router could not reach): its header and the first 8 bytes after it.
  const quoted = ihl + ICMP_HEADER;
  if (quoted + IP_MIN_HEADER > size) return 'short-icmp';
  const quotedIhl = ((pkt[quoted] as number) & 0x0f) * 4;
  if (quotedIhl < IP_MIN_HEADER) return 'bad-ihl';
  const quotedProtocol = pkt[quoted + IP_PROTOCOL];
  if (quotedProtocol !== IPPROTO_TCP && !(udp && quotedProtocol === IPPROTO_UDP)) return 'not-watched';
  if ((pkt.readUInt16BE(quoted + IP_FRAGMENT) & IP_OFFMASK) !== 0) return 'fragment';
  const ports = quoted + quotedIhl;
  if (ports + 4 > size) return 'short-icmp';
  // An error goes back to the contact's source: one addressed elsewhere (forged, and
  // forwarded out through this device) says nothing about that contact.
  for (let i = 0; i < 4; i++) if (pkt[IP_DADDR + i] !== pkt[quoted + IP_SADDR + i]) return 'not-watched';
  writeAnswer(
    pkt,
    quoted + IP_DADDR,
    quoted + IP_SADDR,
    ports + TCP_DPORT,
    ports + TCP_SPORT,
    AnswerVerdict.refused,
    quotedProtocol,
    time,
    out,
    offset,
    false,
  );
  return 'ok';
}

/** A host's segment as an answer: a reset refuses the contact, a SYN+ACK takes it; 0 for anything else. */
function segmentVerdict(flags: number): number {
  if ((flags & TH_RST) !== 0) return AnswerVerdict.refused;
  return (flags & TH_SYN_ACK) === TH_SYN_ACK ? AnswerVerdict.accepted : 0;
}

/** Writes an answer4 record, or with `six` an answer6 one, from the fields at the given offsets of `pkt`. */
function writeAnswer(
  pkt: Buffer,
  host: number,
  source: number,
  port: number,
  sourcePort: number,
  verdict: number,
  protocol: number,
  time: number,
  out: Buffer,
  offset: number,
  six: boolean,
): void {
  const at = six ? Answer6Offset : AnswerOffset;
  const bytes = six ? 16 : 4;
  for (let i = 0; i < bytes; i++) {
    out[offset + at.host + i] = pkt[host + i] as number;
    out[offset + at.source + i] = pkt[source + i] as number;
  }
  for (let i = 0; i < 2; i++) {
    out[offset + at.port + i] = pkt[port + i] as number;
    out[offset + at.sourcePort + i] = pkt[sourcePort + i] as number;
  }
  out[offset + at.verdict] = verdict;
  out[offset + at.protocol] = protocol;
  for (let i = at.protocol + 1; i < Offset.type; i++) out[offset + i] = 0;
  out[offset + Offset.type] = six ? RecordType.answer6 : RecordType.answer4;
  out.writeUInt32BE(time >>> 0, offset + Offset.time);
}

/** Where an IPv6 header chain reaches a header other than an extension header, and which. */
interface ChainEnd {
  at: number;
  next: number;
}
// One for the answer's own chain, one for the chain of the packet an ICMPv6 error quotes.
const outerEnd: ChainEnd = { at: 0, next: 0 };
const quotedEnd: ChainEnd = { at: 0, next: 0 };

/**
 * Walks the extension headers after the IPv6 header at `start` of `pkt` (hop-by-hop,
 * routing, destination options, fragment; at most MAX_EXTENSION_HEADERS, each only if
 * it lies whole within `size`) and leaves in `end` where the first other header
 * starts and its number. A fragment other than the first carries no upper header.
 */
function walkChain(pkt: Buffer, start: number, size: number, end: ChainEnd): PacketVerdict {
  if (start + IP6_HEADER > size) return 'short';
  let next = pkt[start + IP6_NEXT_HEADER] as number;
  let at = start + IP6_HEADER;
  for (let walked = 0; next === EXT_HOP_BY_HOP || next === EXT_ROUTING || next === EXT_DESTINATION || next === EXT_FRAGMENT; walked++) {
    if (walked === MAX_EXTENSION_HEADERS) return 'too-many-extensions';
    if (at + 2 > size) return 'short-extension';
    let extLength: number;
    if (next === EXT_FRAGMENT) {
      if (at + FRAGMENT_HEADER > size) return 'short-extension';
      if ((pkt.readUInt16BE(at + 2) & FRAGMENT_OFFSET_MASK) !== 0) return 'fragment';
      extLength = FRAGMENT_HEADER;
    } else {
      extLength = ((pkt[at + 1] as number) + 1) * 8;
    }
    next = pkt[at] as number;
    at += extLength;
  }
  end.at = at;
  end.next = next;
  return 'ok';
}

/**
 * An IPv6 answer (--ipv6): a SYN+ACK or reset, or an ICMPv6 destination unreachable of
 * a refusing code (ICMP6_REFUSING_CODES) read through the packet it quotes, whose own
 * header chain is walked the same way. As for IPv4, an error counts only when it goes
 * back to the quoted contact's source.
 */
function answer6ToRecord(pkt: Buffer, size: number, time: number, out: Buffer, offset: number, udp: boolean): PacketVerdict {
  const outer = walkChain(pkt, 0, size, outerEnd);
  if (outer !== 'ok') return outer;
  const at = outerEnd.at;
  if (outerEnd.next === IPPROTO_TCP) {
    if (at + TCP_MIN_HEADER > size) return 'short-tcp';
    const verdict = segmentVerdict(pkt[at + TCP_FLAGS] as number);
    if (verdict === 0) return 'not-watched';
    writeAnswer(pkt, IP6_SADDR, IP6_DADDR, at + TCP_SPORT, at + TCP_DPORT, verdict, IPPROTO_TCP, time, out, offset, true);
    return 'ok';
  }
  if (outerEnd.next !== IPPROTO_ICMPV6) return 'not-watched';
  if (at + ICMP_HEADER > size) return 'short-icmp';
  const code = pkt[at + 1] as number;
  // Packet too big (type 2) is path MTU discovery, like IPv4's fragmentation needed.
  if (pkt[at] !== ICMP6_DEST_UNREACHABLE || code > 6 || ((ICMP6_REFUSING_CODES >> code) & 1) === 0) return 'not-watched';
  const quoted = at + ICMP_HEADER;
  const inner = walkChain(pkt, quoted, size, quotedEnd);
  if (inner !== 'ok') return inner === 'short' ? 'short-icmp' : inner;
  const quotedProtocol = quotedEnd.next;
  if (quotedProtocol !== IPPROTO_TCP && !(udp && quotedProtocol === IPPROTO_UDP)) return 'not-watched';
  const ports = quotedEnd.at;
  if (ports + 4 > size) return 'short-icmp';
  for (let i = 0; i < 16; i++) if (pkt[IP6_DADDR + i] !== pkt[quoted + IP6_SADDR + i]) return 'not-watched';
  writeAnswer(
    pkt,
    quoted + IP6_DADDR,
    quoted + IP6_SADDR,
    ports + TCP_DPORT,
    ports + TCP_SPORT,
    AnswerVerdict.refused,
    quotedProtocol,
    time,
    out,
    offset,
    true,
  );
  return 'ok';
}
