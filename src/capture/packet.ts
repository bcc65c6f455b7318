// The capture side's only look at packet bytes: scanlogd's header sanity checks and
// the copy of the fields the detector needs into a 20-byte record.

import { Offset, RecordType } from '../shared/record.js';

const IPPROTO_TCP = 6;
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
const TCP_MIN_HEADER = 20;
/** scanlogd reads at most a maximal IP header plus a minimal TCP header. */
export const CAPTURE_SNAPLEN = 60 + TCP_MIN_HEADER;

export type PacketVerdict = 'ok' | 'short' | 'bad-ihl' | 'not-tcp' | 'fragment' | 'short-tcp';

/**
 * Checks the first `length` bytes of `pkt` (an IPv4 packet as the raw socket gives it)
 * and, when it is a TCP packet scanlogd would look at, writes its record at `offset`
 * of `out`. Never throws for any bytes; returns why a packet was skipped.
 */
export function packetToRecord(pkt: Buffer, length: number, time: number, out: Buffer, offset: number): PacketVerdict {
  const size = Math.min(length, pkt.length);
  if (size < IP_MIN_HEADER) return 'short';
  const ihl = ((pkt[0] as number) & 0x0f) * 4;
  if (ihl < IP_MIN_HEADER) return 'bad-ihl';
  if (pkt[IP_PROTOCOL] !== IPPROTO_TCP) return 'not-tcp';
  // Only the first fragment carries the TCP header.
  if ((pkt.readUInt16BE(IP_FRAGMENT) & IP_OFFMASK) !== 0) return 'fragment';
  if (ihl + TCP_MIN_HEADER > size) return 'short-tcp';

  // Byte by byte: Buffer.copy's native call costs more than these twelve moves.
  for (let i = 0; i < 4; i++) {
    out[offset + Offset.saddr + i] = pkt[IP_SADDR + i] as number;
    out[offset + Offset.daddr + i] = pkt[IP_DADDR + i] as number;
  }
  for (let i = 0; i < 2; i++) {
    out[offset + Offset.sport + i] = pkt[ihl + TCP_SPORT + i] as number;
    out[offset + Offset.dport + i] = pkt[ihl + TCP_DPORT + i] as number;
  }
  out[offset + Offset.flags] = pkt[ihl + TCP_FLAGS] as number;
  out[offset + Offset.tos] = pkt[IP_TOS] as number;
  out[offset + Offset.ttl] = pkt[IP_TTL] as number;
  out[offset + Offset.type] = RecordType.packet;
  out.writeUInt32BE(time >>> 0, offset + Offset.time);
  return 'ok';
}
