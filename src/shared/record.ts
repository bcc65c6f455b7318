// The channel's wire format: every record that crosses from the capture process to the
// monitor. Each is 20 bytes in network byte order; byte 15 is the record's type and
// bytes 16-19 its capture time, whatever the type. Decoding is strict: a byte that has
// no meaning must be zero, and an unknown type is an error, never skipped.

export const RECORD_SIZE = 20;

/** The type byte of each kind of record. */
export const RecordType = {
  /** A packet summary: the fields the detector needs of one packet. */
  packet: 1,
  /** Packets the capture process dropped because the monitor was not reading. */
  loss: 2,
  /** The capture process's counts since its previous counters record. */
  counters: 3,
} as const;

/** Where each field sits in a packet record; `type` and `time` sit there in every record. */
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

/** What the detector reads of one packet. */
export interface PacketSummary {
  /** IPv4 addresses as unsigned 32-bit numbers, most significant byte first. */
  saddr: number;
  daddr: number;
  sport: number;
  dport: number;
  /** TCP flags byte, all 8 bits. */
  flags: number;
  tos: number;
  ttl: number;
  /** Monotonic milliseconds at capture, modulo 2^32. */
  time: number;
}

export interface PacketRecord extends PacketSummary {
  type: 'packet';
}

export interface LossRecord {
  type: 'loss';
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

export type ChannelRecord = PacketRecord | LossRecord | CountersRecord;

export class RecordError extends Error {
  readonly code = 'ERR_SCANLOGD_RECORD';
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RecordError(`record field ${name} out of range: ${value}`);
  }
}

function checkRoom(buf: Buffer, offset: number): void {
  if (offset < 0 || offset + RECORD_SIZE > buf.length) {
    throw new RecordError(`no room for a record at offset ${offset} of ${buf.length} bytes`);
  }
}

/** Writes one record of any type at `offset` of `out`. */
export function encodeInto(r: ChannelRecord, out: Buffer, offset: number): void {
  checkField('time', r.time, 0xffffffff);
  switch (r.type) {
    case 'packet':
      checkField('saddr', r.saddr, 0xffffffff);
      checkField('daddr', r.daddr, 0xffffffff);
      checkField('sport', r.sport, 0xffff);
      checkField('dport', r.dport, 0xffff);
      checkField('flags', r.flags, 0xff);
      checkField('tos', r.tos, 0xff);
      checkField('ttl', r.ttl, 0xff);
      checkRoom(out, offset);
      out.writeUInt32BE(r.saddr, offset + Offset.saddr);
      out.writeUInt32BE(r.daddr, offset + Offset.daddr);
      out.writeUInt16BE(r.sport, offset + Offset.sport);
      out.writeUInt16BE(r.dport, offset + Offset.dport);
      out[offset + Offset.flags] = r.flags;
      out[offset + Offset.tos] = r.tos;
      out[offset + Offset.ttl] = r.ttl;
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
  }
  out[offset + Offset.type] = RecordType[r.type];
  out.writeUInt32BE(r.time, offset + Offset.time);
}

export function encode(r: ChannelRecord): Buffer {
  const out = Buffer.alloc(RECORD_SIZE);
  encodeInto(r, out, 0);
  return out;
}

export function emptyPacketRecord(): PacketRecord {
  return { type: 'packet', saddr: 0, daddr: 0, sport: 0, dport: 0, flags: 0, tos: 0, ttl: 0, time: 0 };
}

function requireZeros(buf: Buffer, offset: number, from: number, kind: string): void {
  for (let i = from; i < Offset.type; i++) {
    if (buf[offset + i] !== 0) throw new RecordError(`${kind} record byte ${i} is not zero`);
  }
}

/**
 * Reads the record at `offset`. A packet record is written into `packet` when one is
 * given (the monitor reuses one object for the stream); the rare loss and counters
 * records are new objects. Throws a RecordError for a short buffer, an unknown type,
 * and a nonzero byte where the type has no field.
 */
export function decodeAt(buf: Buffer, offset: number, packet: PacketRecord = emptyPacketRecord()): ChannelRecord {
  if (offset < 0 || offset + RECORD_SIZE > buf.length) {
    throw new RecordError(`truncated record: ${buf.length - offset} of ${RECORD_SIZE} bytes`);
  }
  const type = buf[offset + Offset.type] as number;
  const time = buf.readUInt32BE(offset + Offset.time);
  switch (type) {
    case RecordType.packet:
      packet.saddr = buf.readUInt32BE(offset + Offset.saddr);
      packet.daddr = buf.readUInt32BE(offset + Offset.daddr);
      packet.sport = buf.readUInt16BE(offset + Offset.sport);
      packet.dport = buf.readUInt16BE(offset + Offset.dport);
      packet.flags = buf[offset + Offset.flags] as number;
      packet.tos = buf[offset + Offset.tos] as number;
      packet.ttl = buf[offset + Offset.ttl] as number;
      packet.time = time;
      return packet;
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
    default:
      throw new RecordError(`record type ${type} is unknown`);
  }
}

/** Decodes a buffer that must hold exactly one record. */
export function decode(buf: Buffer): ChannelRecord {
  if (buf.length !== RECORD_SIZE) {
    throw new RecordError(`a record is ${RECORD_SIZE} bytes, not ${buf.length}`);
  }
  return decodeAt(buf, 0);
}
