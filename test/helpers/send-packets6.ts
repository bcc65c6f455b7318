// Sends hand-made IPv6 packets, extension headers included, through an AF_INET6
// IPPROTO_RAW socket (which takes the whole packet, IPv6 header and all). Run inside
// the scanner namespace:
//   node send-packets6.js '<JSON array of Packet6Spec>'
// Bounded: it sends exactly the packets given, then exits.

import rawSocket = require('raw-socket');
import { parseAddress6 } from '../../src/shared/ipv6.js';

export interface Packet6Spec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP flags byte. */
  flags: number;
  hopLimit?: number;
  trafficClass?: number;
  /**
   * Extension headers before TCP, in order: `hop` (hop-by-hop, 8 bytes), `dest`
   * (destination options, 8 bytes), `frag0` (a fragment header, offset 0, more
   * fragments to come: a first fragment whose rest never comes).
   */
  ext?: Array<'hop' | 'dest' | 'frag0'>;
}

const EXT_TYPE = { hop: 0, dest: 60, frag0: 44 } as const;
const IPPROTO_RAW = 255;

function words6(text: string): Buffer {
  const out = Buffer.alloc(16);
  parseAddress6(text).forEach((w, i) => out.writeUInt32BE(w, 4 * i));
  return out;
}

export function buildPacket6(spec: Packet6Spec): Buffer {
  const ext = spec.ext ?? [];
  const src = words6(spec.src);
  const dst = words6(spec.dst);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(spec.sport, 0);
  tcp.writeUInt16BE(spec.dport, 2);
  tcp.writeUInt32BE(0x01020304, 4);
  tcp[12] = 5 << 4;
  tcp[13] = spec.flags;
  tcp.writeUInt16BE(1024, 14);
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(20, 32);
  pseudo[39] = 6;
  tcp.writeUInt16BE(rawSocket.createChecksum(pseudo, tcp), 16);
  const headers = ext.map((kind, i) => {
    const h = Buffer.alloc(8);
    h[0] = i + 1 < ext.length ? EXT_TYPE[ext[i + 1]!] : 6;
    if (kind === 'frag0') {
      h.writeUInt16BE(1, 2); // offset 0, more fragments
      h.writeUInt32BE(0x5ca11d, 4);
    } else {
      h[2] = 1; // PadN option of 4 bytes: a valid empty 8-byte header
      h[3] = 4;
    }
    return h;
  });
  const head = Buffer.alloc(40);
  head.writeUInt32BE(((6 << 28) | ((spec.trafficClass ?? 0) << 20)) >>> 0, 0);
  head.writeUInt16BE(8 * headers.length + 20, 4);
  head[6] = ext.length > 0 ? EXT_TYPE[ext[0]!] : 6;
  head[7] = spec.hopLimit ?? 64;
  src.copy(head, 8);
  dst.copy(head, 24);
  return Buffer.concat([head, ...headers, tcp]);
}

async function main(): Promise<void> {
  const specs = JSON.parse(process.argv[2] ?? '[]') as Packet6Spec[];
  const socket = rawSocket.createSocket({ addressFamily: rawSocket.AddressFamily.IPv6, protocol: IPPROTO_RAW });
  for (const spec of specs) {
    const buf = buildPacket6(spec);
    await new Promise<void>((resolve, reject) => {
      socket.send(buf, 0, buf.length, spec.dst, null, (err) => (err ? reject(err) : resolve()));
    });
  }
  socket.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`send-packets6: ${String(err)}\n`);
    process.exit(1);
  });
}
