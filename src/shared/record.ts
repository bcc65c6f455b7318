// The 20-byte packet summary: the only data that crosses from the capture process to
// the monitor. Fixed size, network byte order, strict decoding.

export const RECORD_SIZE = 20;
/** Byte 15: the record type. A packet summary is type 1, the only type with fields. */
export const RECORD_VERSION = 1;
/**
 * Type 2 reports packets the capture process had to drop because the monitor was not
 * reading: bytes 0-3 the count, 16-19 the time, every other byte zero.
 */
export const LOSS_RECORD_TYPE = 2;

/** Byte offsets of each field. */
export const Offset = {
  saddr: 0,
  daddr: 4,
  sport: 8,
  dport: 10,
  flags: 12,
  tos: 13,
  ttl: 14,
  version: 15,
  time: 16,
} as const;

export interface PacketRecord {
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

export class RecordError extends Error {
  readonly code = 'ERR_SCANLOGD_RECORD';
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RecordError(`record field ${name} out of range: ${value}`);
  }
}

/** Writes one record at `offset` of `out` (which must have 20 bytes there). */
export function encodeInto(r: PacketRecord, out: Buffer, offset: number): void {
  checkField('saddr', r.saddr, 0xffffffff);
  checkField('daddr', r.daddr, 0xffffffff);
  checkField('sport', r.sport, 0xffff);
  checkField('dport', r.dport, 0xffff);
  checkField('flags', r.flags, 0xff);
  checkField('tos', r.tos, 0xff);
  checkField('ttl', r.ttl, 0xff);
  checkField('time', r.time, 0xffffffff);
  if (offset < 0 || offset + RECORD_SIZE > out.length) {
    throw new RecordError(`no room for a record at offset ${offset} of ${out.length} bytes`);
  }
  out.writeUInt32BE(r.saddr, offset + Offset.saddr);
  out.writeUInt32BE(r.daddr, offset + Offset.daddr);
  out.writeUInt16BE(r.sport, offset + Offset.sport);
  out.writeUInt16BE(r.dport, offset + Offset.dport);
  out[offset + Offset.flags] = r.flags;
  out[offset + Offset.tos] = r.tos;
  out[offset + Offset.ttl] = r.ttl;
  out[offset + Offset.version] = RECORD_VERSION;
  out.writeUInt32BE(r.time, offset + Offset.time);
}

export function encode(r: PacketRecord): Buffer {
  const out = Buffer.alloc(RECORD_SIZE);
  encodeInto(r, out, 0);
  return out;
}

/**
 * Reads the record at `offset`. Rejects a short buffer and an unknown version; every
 * other field has a meaning for every bit pattern.
 */
export function decodeAt(buf: Buffer, offset: number, into?: PacketRecord): PacketRecord {
  if (offset < 0 || offset + RECORD_SIZE > buf.length) {
    throw new RecordError(`truncated record: ${buf.length - offset} of ${RECORD_SIZE} bytes`);
  }
  const version = buf[offset + Offset.version];
  if (version !== RECORD_VERSION) {
    throw new RecordError(`record version ${String(version)} is not ${RECORD_VERSION}`);
  }
  const r = into ?? { saddr: 0, daddr: 0, sport: 0, dport: 0, flags: 0, tos: 0, ttl: 0, time: 0 };
  r.saddr = buf.readUInt32BE(offset + Offset.saddr);
  r.daddr = buf.readUInt32BE(offset + Offset.daddr);
  r.sport = buf.readUInt16BE(offset + Offset.sport);
  r.dport = buf.readUInt16BE(offset + Offset.dport);
  r.flags = buf[offset + Offset.flags] as number;
  r.tos = buf[offset + Offset.tos] as number;
  r.ttl = buf[offset + Offset.ttl] as number;
  r.time = buf.readUInt32BE(offset + Offset.time);
  return r;
}

export interface LossRecord {
  count: number;
  time: number;
}

export function encodeLossInto(loss: LossRecord, out: Buffer, offset: number): void {
  checkField('count', loss.count, 0xffffffff);
  checkField('time', loss.time, 0xffffffff);
  if (offset < 0 || offset + RECORD_SIZE > out.length) {
    throw new RecordError(`no room for a record at offset ${offset} of ${out.length} bytes`);
  }
  out.fill(0, offset, offset + RECORD_SIZE);
  out.writeUInt32BE(loss.count, offset);
  out[offset + Offset.version] = LOSS_RECORD_TYPE;
  out.writeUInt32BE(loss.time, offset + Offset.time);
}

/** The type byte of the record at `offset` (which must be complete). */
export function recordTypeAt(buf: Buffer, offset: number): number {
  if (offset < 0 || offset + RECORD_SIZE > buf.length) {
    throw new RecordError(`truncated record: ${buf.length - offset} of ${RECORD_SIZE} bytes`);
  }
  return buf[offset + Offset.version] as number;
}

/** Reads a loss record; any nonzero byte where it has no field is an error. */
export function decodeLossAt(buf: Buffer, offset: number): LossRecord {
  if (recordTypeAt(buf, offset) !== LOSS_RECORD_TYPE) {
    throw new RecordError(`record type ${String(buf[offset + Offset.version])} is not ${LOSS_RECORD_TYPE}`);
  }
  for (let i = 4; i < Offset.version; i++) {
    if (buf[offset + i] !== 0) throw new RecordError(`loss record byte ${i} is not zero`);
  }
  return { count: buf.readUInt32BE(offset), time: buf.readUInt32BE(offset + Offset.time) };
}

/** Decodes a buffer that must hold exactly one record. */
export function decode(buf: Buffer): PacketRecord {
  if (buf.length !== RECORD_SIZE) {
    throw new RecordError(`a record is ${RECORD_SIZE} bytes, not ${buf.length}`);
  }
  return decodeAt(buf, 0);
}

/** Dotted-quad text of an address held as a 32-bit number. */
export function formatAddress(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Parses a dotted quad into the 32-bit form; throws on anything else. */
export function parseAddress(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) throw new RecordError(`not an IPv4 address: ${text}`);
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new RecordError(`not an IPv4 address: ${text}`);
    value = value * 256 + octet;
  }
  return value;
}

/**
 * Type 3 carries the capture process's counts since its previous counters record:
 * bytes 0-3 packets read from the raw socket, 4-7 records dropped because the monitor
 * was not reading (also reported by type 2), 8-11 packets that failed the header
 * checks, byte 12 is 1 when the monitor should log a counters line now (a SIGUSR1 or
 * the interval) and 0 when the record only keeps the uint32 fields from wrapping,
 * bytes 13-14 zero, 16-19 the time.
 */
export const COUNTERS_RECORD_TYPE = 3;

export interface CountersRecord {
  packets: number;
  dropped: number;
  rejected: number;
  log: boolean;
  time: number;
}

const CountersOffset = { packets: 0, dropped: 4, rejected: 8, log: 12 } as const;

export function encodeCountersInto(c: CountersRecord, out: Buffer, offset: number): void {
  checkField('packets', c.packets, 0xffffffff);
  checkField('dropped', c.dropped, 0xffffffff);
  checkField('rejected', c.rejected, 0xffffffff);
  checkField('time', c.time, 0xffffffff);
  if (offset < 0 || offset + RECORD_SIZE > out.length) {
    throw new RecordError(`no room for a record at offset ${offset} of ${out.length} bytes`);
  }
  out.fill(0, offset, offset + RECORD_SIZE);
  out.writeUInt32BE(c.packets, offset + CountersOffset.packets);
  out.writeUInt32BE(c.dropped, offset + CountersOffset.dropped);
  out.writeUInt32BE(c.rejected, offset + CountersOffset.rejected);
  out[offset + CountersOffset.log] = c.log ? 1 : 0;
  out[offset + Offset.version] = COUNTERS_RECORD_TYPE;
  out.writeUInt32BE(c.time, offset + Offset.time);
}

/** Reads a counters record; the log byte must be 0 or 1 and bytes 13-14 zero. */
export function decodeCountersAt(buf: Buffer, offset: number): CountersRecord {
  if (recordTypeAt(buf, offset) !== COUNTERS_RECORD_TYPE) {
    throw new RecordError(`record type ${String(buf[offset + Offset.version])} is not ${COUNTERS_RECORD_TYPE}`);
  }
  const log = buf[offset + CountersOffset.log] as number;
  if (log > 1) throw new RecordError(`counters record log byte is ${log}, not 0 or 1`);
  for (let i = CountersOffset.log + 1; i < Offset.version; i++) {
    if (buf[offset + i] !== 0) throw new RecordError(`counters record byte ${i} is not zero`);
  }
  return {
    packets: buf.readUInt32BE(offset + CountersOffset.packets),
    dropped: buf.readUInt32BE(offset + CountersOffset.dropped),
    rejected: buf.readUInt32BE(offset + CountersOffset.rejected),
    log: log === 1,
    time: buf.readUInt32BE(offset + Offset.time),
  };
}
