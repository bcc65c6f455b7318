// The capture side's only look at packet bytes: scanlogd's header sanity checks and
// the copy of the fields the detector needs into a 20-byte record.

import { Offset, RECORD_SIZE, RECORD_VERSION } from '../shared/record.js';

const IPPROTO_TCP = 6;
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
  if (pkt[9] !== IPPROTO_TCP) return 'not-tcp';
  // Only the first fragment carries the TCP header.
  if ((pkt.readUInt16BE(6) & IP_OFFMASK) !== 0) return 'fragment';
  if (ihl + TCP_MIN_HEADER > size) return 'short-tcp';

  out[offset + 0] = pkt[12] as number;
  out[offset + 1] = pkt[13] as number;
  out[offset + 2] = pkt[14] as number;
  out[offset + 3] = pkt[15] as number;
  out[offset + 4] = pkt[16] as number;
  out[offset + 5] = pkt[17] as number;
  out[offset + 6] = pkt[18] as number;
  out[offset + 7] = pkt[19] as number;
  out[offset + Offset.sport] = pkt[ihl] as number;
  out[offset + Offset.sport + 1] = pkt[ihl + 1] as number;
  out[offset + Offset.dport] = pkt[ihl + 2] as number;
  out[offset + Offset.dport + 1] = pkt[ihl + 3] as number;
  out[offset + Offset.flags] = pkt[ihl + 13] as number;
  out[offset + Offset.tos] = pkt[1] as number;
  out[offset + Offset.ttl] = pkt[8] as number;
  out[offset + Offset.version] = RECORD_VERSION;
  out.writeUInt32BE(time >>> 0, offset + Offset.time);
  return 'ok';
}

export { RECORD_SIZE };
