// The channel's wire format: every record that crosses from the capture process to the
// monitor. A record starts with a 20-byte head in network byte order whose byte 15 is
// the record's type and bytes 16-19 its capture time, whatever the type; the type alone
// fixes the record's size (20 bytes, or 52 for an IPv6 packet or answer). Decoding is strict: a
// byte that has no meaning must be zero, and an unknown type is an error, never skipped.

/** The size of every record but the IPv6 packet and answer records, and of every record's head. */
export const RECORD_SIZE = 20;
/** An IPv6 packet or answer record: the head, then two IPv6 addresses. */
export const RECORD6_SIZE = 52;
/** The largest record: what a writer must have room for before it writes one. */
export const MAX_RECORD_SIZE = RECORD6_SIZE;

/** The type byte of each kind of record. */
export const RecordType = {
  /** An IPv4 TCP segment: the fields the detector needs of one packet. */
  tcp4: 1,
  /** Packets the capture process dropped because the monitor was not reading. */
  loss: 2,
  /** The capture process's counts since its previous counters record. */
  counters: 3,
  /** An IPv4 UDP datagram: the tcp4 record's layout, with a flags byte of zero. */
  udp4: 4,
  /** An IPv6 packet, TCP or UDP: 52 bytes (Offset6). */
  ip6: 5,
  /** Packets the kernel dropped on one capture socket before the capture process read them. */
  kernelDrops: 6,
  /**
   * An IPv4 host's answer to a first contact, seen leaving through the device that
   * libpcap watches (AnswerOffset): only with the second stage on, and only for it.
   */
  answer4: 7,
  /** The same for an IPv6 host (with --ipv6): 52 bytes (Answer6Offset). */
  answer6: 8,
} as const;

/** Bytes of the record whose type byte is `type`, or 0 for a type that does not exist. */
export function recordSize(type: number): number {
  if (type === RecordType.ip6 || type === RecordType.answer6) return RECORD6_SIZE;
  return type >= RecordType.tcp4 && type <= RecordType.answer4 ? RECORD_SIZE : 0;
}

/** Where each field sits in an IPv4 record (tcp4, udp4); `type` and `time` sit there in every record. */
export const Offset = {
  saddr: 0,
  daddr: 4,
  sport: 8,
  dport: 10,
  flags: 12,
  tos: 13,
  ttl: 14,
  type: 15,
  time: 16,
} as const;

/**
 * Where each field sits in an IPv6 packet record. Bytes 8-14 are zero; the traffic
 * class takes the place of the TOS and the hop limit that of the TTL; `protocol` is
 * 6 (TCP) or 17 (UDP, whose flags byte is zero).
 */
export const Offset6 = {
  sport: 0,
  dport: 2,
  flags: 4,
  tos: 5,
  ttl: 6,
  protocol: 7,
  type: 15,
  time: 16,
  saddr: 20,
  daddr: 36,
} as const;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/**
 * An answer record: the contact it answers, from the contacted host's side (the host,
 * the contact's source, the contacted port, the source's port), whether the host took
 * or refused the contact (AnswerVerdict), and the contact's protocol (6 or 17); byte 14
 * is zero. A TCP SYN+ACK takes a contact, a reset refuses it; an ICMP destination
 * unreachable refuses the TCP segment or UDP datagram it quotes.
 */
export const AnswerOffset = { host: 0, source: 4, port: 8, sourcePort: 10, verdict: 12, protocol: 13 } as const;
export const AnswerVerdict = { accepted: 1, refused: 2 } as const;
/**
 * An IPv6 answer record: the answer record's fields, with the two addresses where the
 * IPv6 packet record has its own (the host at 20, the contact's source at 36); bytes
 * 6-14 are zero.
 */
export const Answer6Offset = { port: 0, sourcePort: 2, verdict: 4, protocol: 5, type: 15, time: 16, host: 20, source: 36 } as const;

/** A loss record: the count, then zeros up to the type. */
export const LossOffset = { count: 0 } as const;

/**
 * A counters record: packets read from the capture socket, records dropped because
 * the monitor was not reading (also reported by loss records), packets that failed
 * the header checks, and a byte that is 1 when the monitor should log a counters line
 * now (SIGUSR1 or the interval) and 0 when the record only keeps the uint32 counts
 * from wrapping; bytes 13 and 14 are zero.
 */
export const CountersOffset = { packets: 0, dropped: 4, rejected: 8, log: 12 } as const;

/**
 * The capture sockets, each with the byte that names it in a kernel drops record: the
 * raw socket of each lane, or the one libpcap handle (--interface) that takes them all.
 */
export const CaptureSocket = { tcp4: 1, udp4: 2, tcp6: 3, udp6: 4, pcap: 5 } as const;
export type CaptureSocketName = keyof typeof CaptureSocket;
const CAPTURE_SOCKET_NAMES = Object.keys(CaptureSocket) as CaptureSocketName[];

/** The capture sockets a daemon holds that watches `watched`, through libpcap or raw sockets, scanlogd's first. */
export function captureSockets(watched: { udp: boolean; ipv6: boolean }, libpcap: boolean): CaptureSocketName[] {
  if (libpcap) return ['pcap'];
  const names: CaptureSocketName[] = ['tcp4'];
  if (watched.udp) names.push('udp4');
  if (watched.ipv6) names.push('tcp6');
  if (watched.ipv6 && watched.udp) names.push('udp6');
  return names;
}

/**
 * A kernel drops record: packets the kernel dropped on one capture socket (its receive
 * queue or ring was full) since the previous such record for that socket, then the
 * socket's byte (CaptureSocket); bytes 5-14 are zero. Sent just before a counters record.
 */
export const KernelDropsOffset = { count: 0, socket: 4 } as const;

/** What the detector reads of one packet, with addresses of type `A`. */
export interface Summary<A> {
  saddr: A;
  daddr: A;
  sport: number;
  dport: number;
  /** TCP flags byte, all 8 bits. */
  flags: number;
  tos: number;
  ttl: number;
  /** Monotonic milliseconds at capture, modulo 2^32. */
  time: number;
}

/** IPv4 addresses as unsigned 32-bit numbers, most significant byte first. */
export type Summary4 = Summary<number>;
/** IPv6 addresses as four unsigned 32-bit words each, most significant first. */
export type Summary6 = Summary<Uint32Array>;

export type Protocol = 'tcp' | 'udp';

/** An IPv4 TCP segment: the record scanlogd's detector has always read. */
export interface Tcp4Record extends Summary4 {
  type: 'tcp4';
}

/** An IPv4 UDP datagram; `flags` is always 0. */
export interface Udp4Record extends Summary4 {
  type: 'udp4';
}

/** An IPv6 TCP segment or UDP datagram (`flags` 0). */
export interface Ip6Record extends Summary6 {
  type: 'ip6';
  protocol: Protocol;
}

/** An answer leaving the watched device (AnswerOffset), for the second stage alone. */
export interface Answer4Record {
  type: 'answer4';
  host: number;
  source: number;
  port: number;
  sourcePort: number;
  protocol: Protocol;
  accepted: boolean;
  time: number;
}

/** An IPv6 host's answer leaving the watched device (Answer6Offset), for the second stage alone. */
export interface Answer6Record {
  type: 'answer6';
  host: Uint32Array;
  source: Uint32Array;
  port: number;
  sourcePort: number;
  protocol: Protocol;
  accepted: boolean;
  time: number;
}

export type AnswerRecord = Answer4Record | Answer6Record;

export interface LossRecord {
  type: 'loss';
  count: number;
  time: number;
}

export interface KernelDropsRecord {
  type: 'kernelDrops';
  socket: CaptureSocketName;
  count: number;
  time: number;
}

export interface CountersRecord {
  type: 'counters';
  packets: number;
  dropped: number;
  rejected: number;
  log: boolean;
  time: number;
}

/** A record about one packet, of any lane. */
export type PacketRecord = Tcp4Record | Udp4Record | Ip6Record;

export type ChannelRecord = PacketRecord | AnswerRecord | LossRecord | CountersRecord | KernelDropsRecord;

export class RecordError extends Error {
  readonly code = 'ERR_SCANLOGD_RECORD';
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RecordError(`record field ${name} out of range: ${value}`);
  }
}

function checkRoom(buf: Buffer, offset: number, size = RECORD_SIZE): void {
  if (offset < 0 || offset + size > buf.length) {
    throw new RecordError(`no room for a record at offset ${offset} of ${buf.length} bytes`);
  }
}

function checkAddress6(name: string, words: Uint32Array): void {
  if (words.length !== 4) throw new RecordError(`record field ${name} has ${words.length} words, not 4`);
}

function checkPacketFields(r: Summary<unknown>): void {
  checkField('sport', r.sport, 0xffff);
  checkField('dport', r.dport, 0xffff);
  checkField('flags', r.flags, 0xff);
  checkField('tos', r.tos, 0xff);
  checkField('ttl', r.ttl, 0xff);
}

/** Writes one record of any type at `offset` of `out`. */
export function encodeInto(r: ChannelRecord, out: Buffer, offset: number): void {
  checkField('time', r.time, 0xffffffff);
  switch (r.type) {
    case 'tcp4':
    case 'udp4':
      checkField('saddr', r.saddr, 0xffffffff);
      checkField('daddr', r.daddr, 0xffffffff);
      checkPacketFields(r);
      if (r.type === 'udp4' && r.flags !== 0) throw new RecordError(`a UDP record has no flags: ${r.flags}`);
      checkRoom(out, offset);
      out.writeUInt32BE(r.saddr, offset + Offset.saddr);
      out.writeUInt32BE(r.daddr, offset + Offset.daddr);
      out.writeUInt16BE(r.sport, offset + Offset.sport);
      out.writeUInt16BE(r.dport, offset + Offset.dport);
      out[offset + Offset.flags] = r.flags;
      out[offset + Offset.tos] = r.tos;
      out[offset + Offset.ttl] = r.ttl;
      break;
    case 'ip6':
      checkAddress6('saddr', r.saddr);
      checkAddress6('daddr', r.daddr);
      checkPacketFields(r);
      if (r.protocol === 'udp' && r.flags !== 0) throw new RecordError(`a UDP record has no flags: ${r.flags}`);
      checkRoom(out, offset, RECORD6_SIZE);
      out.fill(0, offset, offset + Offset6.type);
      out.writeUInt16BE(r.sport, offset + Offset6.sport);
      out.writeUInt16BE(r.dport, offset + Offset6.dport);
      out[offset + Offset6.flags] = r.flags;
      out[offset + Offset6.tos] = r.tos;
      out[offset + Offset6.ttl] = r.ttl;
      out[offset + Offset6.protocol] = r.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
      for (let i = 0; i < 4; i++) {
        out.writeUInt32BE((r.saddr[i] as number) >>> 0, offset + Offset6.saddr + 4 * i);
        out.writeUInt32BE((r.daddr[i] as number) >>> 0, offset + Offset6.daddr + 4 * i);
      }
      break;
    case 'answer4':
      checkField('host', r.host, 0xffffffff);
      checkField('source', r.source, 0xffffffff);
      checkField('port', r.port, 0xffff);
      checkField('sourcePort', r.sourcePort, 0xffff);
      checkRoom(out, offset);
      out.fill(0, offset, offset + Offset.type);
      out.writeUInt32BE(r.host, offset + AnswerOffset.host);
      out.writeUInt32BE(r.source, offset + AnswerOffset.source);
      out.writeUInt16BE(r.port, offset + AnswerOffset.port);
      out.writeUInt16BE(r.sourcePort, offset + AnswerOffset.sourcePort);
      out[offset + AnswerOffset.verdict] = r.accepted ? AnswerVerdict.accepted : AnswerVerdict.refused;
      out[offset + AnswerOffset.protocol] = r.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
      break;
    case 'answer6':
      checkAddress6('host', r.host);
      checkAddress6('source', r.source);
      checkField('port', r.port, 0xffff);
      checkField('sourcePort', r.sourcePort, 0xffff);
      checkRoom(out, offset, RECORD6_SIZE);
      out.fill(0, offset, offset + Answer6Offset.type);
      out.writeUInt16BE(r.port, offset + Answer6Offset.port);
      out.writeUInt16BE(r.sourcePort, offset + Answer6Offset.sourcePort);
      out[offset + Answer6Offset.verdict] = r.accepted ? AnswerVerdict.accepted : AnswerVerdict.refused;
      out[offset + Answer6Offset.protocol] = r.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
      for (let i = 0; i < 4; i++) {
        out.writeUInt32BE((r.host[i] as number) >>> 0, offset + Answer6Offset.host + 4 * i);
        out.writeUInt32BE((r.source[i] as number) >>> 0, offset + Answer6Offset.source + 4 * i);
      }
      break;
    case 'loss':
      checkField('count', r.count, 0xffffffff);
      checkRoom(out, offset);
      out.fill(0, offset, offset + Offset.type);
      out.writeUInt32BE(r.count, offset + LossOffset.count);
      break;
    case 'counters':
      checkField('packets', r.packets, 0xffffffff);
      checkField('dropped', r.dropped, 0xffffffff);
      checkField('rejected', r.rejected, 0xffffffff);
      checkRoom(out, offset);
      out.fill(0, offset, offset + Offset.type);
      out.writeUInt32BE(r.packets, offset + CountersOffset.packets);
      out.writeUInt32BE(r.dropped, offset + CountersOffset.dropped);
      out.writeUInt32BE(r.rejected, offset + CountersOffset.rejected);
      out[offset + CountersOffset.log] = r.log ? 1 : 0;
      break;
    case 'kernelDrops':
      checkField('count', r.count, 0xffffffff);
      if (!Object.hasOwn(CaptureSocket, r.socket)) throw new RecordError(`record field socket is unknown: ${String(r.socket)}`);
      checkRoom(out, offset);
      out.fill(0, offset, offset + Offset.type);
      out.writeUInt32BE(r.count, offset + KernelDropsOffset.count);
      out[offset + KernelDropsOffset.socket] = CaptureSocket[r.socket];
      break;
  }
  out[offset + Offset.type] = RecordType[r.type];
  out.writeUInt32BE(r.time, offset + Offset.time);
}

export function encode(r: ChannelRecord): Buffer {
  const out = Buffer.alloc(r.type === 'ip6' || r.type === 'answer6' ? RECORD6_SIZE : RECORD_SIZE);
  encodeInto(r, out, 0);
  return out;
}

export function emptyTcp4Record(): Tcp4Record {
  return { type: 'tcp4', saddr: 0, daddr: 0, sport: 0, dport: 0, flags: 0, tos: 0, ttl: 0, time: 0 };
}

/** The objects the monitor decodes every packet record of a stream into. */
export interface PacketScratch {
  tcp4: Tcp4Record;
  udp4: Udp4Record;
  ip6: Ip6Record;
}

export function emptyPacketScratch(): PacketScratch {
  return {
    tcp4: emptyTcp4Record(),
    udp4: { ...emptyTcp4Record(), type: 'udp4' },
    ip6: {
      type: 'ip6',
      protocol: 'tcp',
      saddr: new Uint32Array(4),
      daddr: new Uint32Array(4),
      sport: 0,
      dport: 0,
      flags: 0,
      tos: 0,
      ttl: 0,
      time: 0,
    },
  };
}

function requireZeros(buf: Buffer, offset: number, from: number, kind: string, to: number = Offset.type): void {
  for (let i = from; i < to; i++) {
    if (buf[offset + i] !== 0) throw new RecordError(`${kind} record byte ${i} is not zero`);
  }
}

/** A big-endian 32-bit word from bytes the caller has bounds-checked: eight of these per IPv6 record cost less than readUInt32BE's checks (bench/lanes.ts). */
function word(buf: Buffer, at: number): number {
  return (((buf[at] as number) << 24) | ((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number)) >>> 0;
}

function decodeFlags(buf: Buffer, at: number, udp: boolean, kind: string): number {
  const flags = buf[at] as number;
  if (udp && flags !== 0) throw new RecordError(`${kind} record of a UDP datagram has flags ${flags}`);
  return flags;
}

/** Checks an answer record's verdict, protocol and zero bytes (after the protocol, up to the type); returns its protocol. */
function answerProtocol(buf: Buffer, offset: number, at: { verdict: number; protocol: number }, kind: string): Protocol {
  const verdict = buf[offset + at.verdict] as number;
  if (verdict !== AnswerVerdict.accepted && verdict !== AnswerVerdict.refused)
    throw new RecordError(`${kind} record verdict ${verdict} is neither 1 nor 2`);
  const proto = buf[offset + at.protocol] as number;
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) throw new RecordError(`${kind} record protocol ${proto} is neither TCP nor UDP`);
  requireZeros(buf, offset, at.protocol + 1, kind);
  return proto === IPPROTO_TCP ? 'tcp' : 'udp';
}

/**
 * Reads the record at `offset`. A packet record is written into the matching object
 * of `scratch` when one is given (the monitor reuses them for the stream); the rare
 * answer, loss, counters and kernel drops records are new objects. Throws a RecordError for a short buffer,
 * an unknown type, and a nonzero byte where the type has no field.
 */
export function decodeAt(buf: Buffer, offset: number, scratch: PacketScratch = emptyPacketScratch()): ChannelRecord {
  if (offset < 0 || offset + RECORD_SIZE > buf.length) {
    throw new RecordError(`truncated record: ${buf.length - offset} of ${RECORD_SIZE} bytes`);
  }
  const type = buf[offset + Offset.type] as number;
  const time = buf.readUInt32BE(offset + Offset.time);
  switch (type) {
    case RecordType.tcp4:
    case RecordType.udp4: {
      const packet = type === RecordType.tcp4 ? scratch.tcp4 : scratch.udp4;
      packet.saddr = buf.readUInt32BE(offset + Offset.saddr);
      packet.daddr = buf.readUInt32BE(offset + Offset.daddr);
      packet.sport = buf.readUInt16BE(offset + Offset.sport);
      packet.dport = buf.readUInt16BE(offset + Offset.dport);
      packet.flags = decodeFlags(buf, offset + Offset.flags, type === RecordType.udp4, 'udp4');
      packet.tos = buf[offset + Offset.tos] as number;
      packet.ttl = buf[offset + Offset.ttl] as number;
      packet.time = time;
      return packet;
    }
    case RecordType.ip6: {
      if (offset + RECORD6_SIZE > buf.length) {
        throw new RecordError(`truncated record: ${buf.length - offset} of ${RECORD6_SIZE} bytes`);
      }
      const proto = buf[offset + Offset6.protocol] as number;
      if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) throw new RecordError(`ip6 record protocol ${proto} is neither TCP nor UDP`);
      // Bytes 8-14 tested at once, without a loop; the loop says which one only when one is not zero.
      const zeros = offset + Offset6.protocol + 1;
      if (
        ((buf[zeros] as number) |
          (buf[zeros + 1] as number) |
          (buf[zeros + 2] as number) |
          (buf[zeros + 3] as number) |
          (buf[zeros + 4] as number) |
          (buf[zeros + 5] as number) |
          (buf[zeros + 6] as number)) !==
        0
      )
        requireZeros(buf, offset, Offset6.protocol + 1, 'ip6');
      const packet = scratch.ip6;
      packet.protocol = proto === IPPROTO_TCP ? 'tcp' : 'udp';
      packet.sport = buf.readUInt16BE(offset + Offset6.sport);
      packet.dport = buf.readUInt16BE(offset + Offset6.dport);
      packet.flags = decodeFlags(buf, offset + Offset6.flags, proto === IPPROTO_UDP, 'ip6');
      packet.tos = buf[offset + Offset6.tos] as number;
      packet.ttl = buf[offset + Offset6.ttl] as number;
      // Written out, as the capture process writes them: V8 does not unroll loops.
      const saddr = packet.saddr;
      const daddr = packet.daddr;
      saddr[0] = word(buf, offset + Offset6.saddr);
      saddr[1] = word(buf, offset + Offset6.saddr + 4);
      saddr[2] = word(buf, offset + Offset6.saddr + 8);
      saddr[3] = word(buf, offset + Offset6.saddr + 12);
      daddr[0] = word(buf, offset + Offset6.daddr);
      daddr[1] = word(buf, offset + Offset6.daddr + 4);
      daddr[2] = word(buf, offset + Offset6.daddr + 8);
      daddr[3] = word(buf, offset + Offset6.daddr + 12);
      packet.time = time;
      return packet;
    }
    case RecordType.answer4: {
      const protocol = answerProtocol(buf, offset, AnswerOffset, 'answer4');
      return {
        type: 'answer4',
        host: buf.readUInt32BE(offset + AnswerOffset.host),
        source: buf.readUInt32BE(offset + AnswerOffset.source),
        port: buf.readUInt16BE(offset + AnswerOffset.port),
        sourcePort: buf.readUInt16BE(offset + AnswerOffset.sourcePort),
        protocol,
        accepted: buf[offset + AnswerOffset.verdict] === AnswerVerdict.accepted,
        time,
      };
    }
    case RecordType.answer6: {
      if (offset + RECORD6_SIZE > buf.length) {
        throw new RecordError(`truncated record: ${buf.length - offset} of ${RECORD6_SIZE} bytes`);
      }
      const protocol = answerProtocol(buf, offset, Answer6Offset, 'answer6');
      const host = new Uint32Array(4);
      const source = new Uint32Array(4);
      for (let i = 0; i < 4; i++) {
        host[i] = word(buf, offset + Answer6Offset.host + 4 * i);
        source[i] = word(buf, offset + Answer6Offset.source + 4 * i);
      }
      return {
        type: 'answer6',
        host,
        source,
        port: buf.readUInt16BE(offset + Answer6Offset.port),
        sourcePort: buf.readUInt16BE(offset + Answer6Offset.sourcePort),
        protocol,
        accepted: buf[offset + Answer6Offset.verdict] === AnswerVerdict.accepted,
        time,
      };
    }
    case RecordType.loss:
      requireZeros(buf, offset, LossOffset.count + 4, 'loss');
      return { type: 'loss', count: buf.readUInt32BE(offset + LossOffset.count), time };
    case RecordType.counters: {
      const log = buf[offset + CountersOffset.log] as number;
      if (log > 1) throw new RecordError(`counters record log byte is ${log}, not 0 or 1`);
      requireZeros(buf, offset, CountersOffset.log + 1, 'counters');
      return {
        type: 'counters',
        packets: buf.readUInt32BE(offset + CountersOffset.packets),
        dropped: buf.readUInt32BE(offset + CountersOffset.dropped),
        rejected: buf.readUInt32BE(offset + CountersOffset.rejected),
        log: log === 1,
        time,
      };
    }
    case RecordType.kernelDrops: {
      const socket = CAPTURE_SOCKET_NAMES[(buf[offset + KernelDropsOffset.socket] as number) - 1];
      if (socket === undefined)
        throw new RecordError(`kernelDrops record socket byte ${buf[offset + KernelDropsOffset.socket]} is unknown`);
      requireZeros(buf, offset, KernelDropsOffset.socket + 1, 'kernelDrops');
      return { type: 'kernelDrops', socket, count: buf.readUInt32BE(offset + KernelDropsOffset.count), time };
    }
    default:
      throw new RecordError(`record type ${type} is unknown`);
  }
}

/** Decodes a buffer that must hold exactly one record. */
export function decode(buf: Buffer): ChannelRecord {
  const size = buf.length > Offset.type ? recordSize(buf[Offset.type] as number) : 0;
  if (buf.length !== (size === 0 ? RECORD_SIZE : size)) {
    throw new RecordError(`a record is ${size === 0 ? RECORD_SIZE : size} bytes, not ${buf.length}`);
  }
  return decodeAt(buf, 0);
}
