// Sends hand-made IPv4/TCP packets through a raw socket with IP_HDRINCL, so that a
// test controls every header field. Run inside the scanner namespace:
//   node send-packets.js '<JSON array of PacketSpec>'
// Bounded: it sends exactly the packets given, then exits.

import rawSocket = require('raw-socket');
import { parseAddress } from '../../src/shared/ipv4.js';

export interface PacketSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP flags byte. */
  flags: number;
  tos?: number;
  ttl?: number;
  /** IP flags+fragment offset field (host order), e.g. 0x2000 for MF, 0x0004 for offset 32. */
  frag?: number;
  /** 32-bit words of IP options (0 to 10), filled with NOPs and an end byte. */
  optionWords?: number;
  /** Milliseconds to wait before this packet. */
  delayMs?: number;
  /** Truncate the packet to this many bytes (for malformed packets). */
  truncate?: number;
  /** Bytes of payload after the TCP header. */
  payload?: number;
  /** TCP data offset in 32-bit words (5 unless set; any 4-bit value is sent as is). */
  dataOffset?: number;
}

const IPPROTO_IP = 0;
const IP_HDRINCL = 3;

export function buildPacket(spec: PacketSpec): Buffer {
  const optionBytes = (spec.optionWords ?? 0) * 4;
  const ihl = 20 + optionBytes;
  const pkt = Buffer.alloc(ihl + 20 + (spec.payload ?? 0), 0x5a);
  pkt.fill(0, 0, ihl + 20);
  pkt[0] = 0x40 | (ihl / 4);
  pkt[1] = spec.tos ?? 0;
  pkt.writeUInt16BE(pkt.length, 2);
  pkt.writeUInt16BE(0x1234, 4);
  pkt.writeUInt16BE(spec.frag ?? 0, 6);
  pkt[8] = spec.ttl ?? 64;
  pkt[9] = 6;
  pkt.writeUInt32BE(parseAddress(spec.src), 12);
  pkt.writeUInt32BE(parseAddress(spec.dst), 16);
  for (let i = 20; i < ihl - 1; i++) pkt[i] = 1; // NOP
  if (optionBytes > 0) pkt[ihl - 1] = 0; // end of options
  pkt.writeUInt16BE(0, 10);
  pkt.writeUInt16BE(rawSocket.createChecksum(pkt.subarray(0, ihl)), 10);
  const tcp = pkt.subarray(ihl);
  tcp.writeUInt16BE(spec.sport, 0);
  tcp.writeUInt16BE(spec.dport, 2);
  tcp.writeUInt32BE(0x01020304, 4);
  tcp.writeUInt32BE(spec.flags & 0x10 ? 0x05060708 : 0, 8);
  tcp[12] = (spec.dataOffset ?? 5) << 4;
  tcp[13] = spec.flags;
  tcp.writeUInt16BE(1024, 14);
  const pseudo = Buffer.alloc(12);
  pkt.copy(pseudo, 0, 12, 20);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(tcp.length, 10);
  tcp.writeUInt16BE(rawSocket.createChecksum(pseudo, tcp), 16);
  return spec.truncate === undefined ? pkt : pkt.subarray(0, spec.truncate);
}

async function main(): Promise<void> {
  const specs = JSON.parse(process.argv[2] ?? '[]') as PacketSpec[];
  const socket = rawSocket.createSocket({ protocol: rawSocket.Protocol.TCP });
  socket.setOption(IPPROTO_IP, IP_HDRINCL, 1);
  const send = (buf: Buffer, dst: string): Promise<void> =>
    new Promise((resolve, reject) => {
      socket.send(buf, 0, buf.length, dst, null, (err) => (err ? reject(err) : resolve()));
    });
  for (const spec of specs) {
    if (spec.delayMs !== undefined && spec.delayMs > 0) await new Promise((r) => setTimeout(r, spec.delayMs));
    await send(buildPacket(spec), spec.dst);
  }
  socket.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`send-packets: ${String(err)}\n`);
    process.exit(1);
  });
}
