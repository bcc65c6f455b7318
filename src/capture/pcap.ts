// The libpcap capture backend: a handle on one device (or `any`) with a kernel
// filter, so it sees packets before the host firewall does and only the ones
// scanlogd can use ever reach user space.

import os = require('node:os');
import { StartupError, messageOf } from '../shared/errors.js';
import { CAPTURE_SNAPLEN, CAPTURE_SNAPLEN6, CLASSIC, type Watched } from './packet.js';
import { LinkType, MAX_LINK_HEADER, ipOffset, isSupportedLinkType } from './linklayer.js';
import type { PacketSource } from './source.js';

type Binding = typeof import('pcap/build/Release/pcap_binding.node');
type Session = InstanceType<Binding['PcapSession']>;

/**
 * scanlogd's own libpcap filter (params.h, SCANLOGD_PCAP_FILTER): TCP, without the
 * pure ACK and PSH+ACK segments that make up nearly all established traffic, except
 * fragments (their flags byte is not a TCP header). `inbound` keeps the host's own
 * outgoing connections out, as a raw socket does; `ip` keeps IPv6 out, which the
 * raw socket never sees either.
 */
export const PCAP_FILTER = 'inbound and ip and tcp and ((tcp[13] != 0x10 and tcp[13] != 0x18) or ip[6:2] & 0x3fff != 0)';
export const PCAP_SNAPLEN = MAX_LINK_HEADER + CAPTURE_SNAPLEN;
/** With --ipv6: room for extension headers before the TCP or UDP header. */
export const PCAP_SNAPLEN6 = MAX_LINK_HEADER + CAPTURE_SNAPLEN6;

/** IPv4 UDP datagrams, first fragments only (the others carry no ports). */
const UDP4_CLAUSE = '(ip and udp and ip[6:2] & 0x1fff = 0)';
/**
 * IPv6 with TCP right after the fixed header, without pure ACK and PSH+ACK segments
 * (the flags byte is at 40 + 13); with UDP there (--udp); or with an extension header
 * there (hop-by-hop 0, routing 43, fragment 44, destination options 60), which BPF
 * cannot walk: those are walked in user space (packet.ts).
 */
function ipv6Clause(udp: boolean): string {
  const tcp = '(ip6[6] == 6 and ip6[53] != 0x10 and ip6[53] != 0x18)';
  const ext = '(ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 60)';
  return `(ip6 and (${tcp}${udp ? ' or ip6[6] == 17' : ''} or ${ext}))`;
}

/** The kernel filter for what is watched: scanlogd's own, unchanged, when only IPv4 TCP is. */
export function pcapFilter(watched: Readonly<Watched>): string {
  if (!watched.udp && !watched.ipv6) return PCAP_FILTER;
  const clauses = ['(ip and tcp and ((tcp[13] != 0x10 and tcp[13] != 0x18) or ip[6:2] & 0x3fff != 0))'];
  if (watched.udp) clauses.push(UDP4_CLAUSE);
  if (watched.ipv6) clauses.push(ipv6Clause(watched.udp));
  return `inbound and (${clauses.join(' or ')})`;
}
/**
 * The ring libpcap maps for the handle. A slot takes a couple of hundred bytes at
 * this snap length (libpcap's header, the frame, alignment), so 8 MB holds tens of
 * thousands of packets, no fewer than the raw socket's 16 MB queue, where each packet
 * is charged its whole kernel buffer. The ring is mapped into the capture process,
 * so it shows in its resident memory once used (the benchmark's MEM rows).
 */
export const PCAP_BUFFER_BYTES = 8 * 1024 * 1024;

const LINK_TYPE_NAMES: Readonly<Record<string, number>> = {
  LINKTYPE_NULL: LinkType.NULL,
  LINKTYPE_ETHERNET: LinkType.ETHERNET,
  LINKTYPE_RAW: LinkType.RAW,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
};

/** The binding names the link types it knows and gives the number of any other. */
export function linkTypeNumber(name: string): number {
  const known = LINK_TYPE_NAMES[name];
  if (known !== undefined) return known;
  const m = /^Unknown linktype (\d+)$/.exec(name);
  return m === null ? -1 : Number(m[1]);
}

// Like raw-socket's, the binding's session does not keep itself alive: a collected
// session would leave its poll handle pointing at freed memory.
const liveSessions: Session[] = [];

export interface PcapOptions {
  device: string;
  promiscuous: boolean;
  bufferBytes?: number;
  /** --udp, --ipv6: what the filter passes beyond IPv4 TCP. */
  watched?: Readonly<Watched>;
}

/** Opens the handle (as root, before the drop); libpcap and the addon load here. */
export function openPcap(options: PcapOptions): PacketSource {
  const { device } = options;
  let binding: Binding;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon, loaded here only
    binding = require('pcap/build/Release/pcap_binding.node') as Binding;
  } catch (err) {
    // Node appends the require stack on further lines; the first says what is missing.
    const why = messageOf(err).split('\n')[0] ?? '';
    throw new StartupError(
      `libpcap: cannot load the pcap addon (${why}); install the optional npm dependency pcap, which needs libpcap-dev`,
      { cause: err },
    );
  }
  const watched = options.watched ?? CLASSIC;
  const ipv6 = watched.ipv6;
  const snaplen = ipv6 ? PCAP_SNAPLEN6 : PCAP_SNAPLEN;
  const session = new binding.PcapSession();
  liveSessions.push(session);
  const frame = Buffer.alloc(snaplen);
  const header = Buffer.alloc(16);
  // The header's caplen (offset 8) is in host byte order.
  const littleEndian = os.endianness() === 'LE';
  // One view per possible IP offset, made once: no allocation per packet.
  const views = Array.from({ length: MAX_LINK_HEADER + 1 }, (_, i) => frame.subarray(i));
  let deliver: (pkt: Buffer, length: number) => void = () => {};
  let linkType = -1;

  const onFrame = (): void => {
    const caplen = littleEndian ? header.readUInt32LE(8) : header.readUInt32BE(8);
    const offset = ipOffset(linkType, frame, caplen, ipv6);
    if (offset >= 0) deliver(views[offset] as Buffer, caplen - offset);
  };

  let linkName: string;
  try {
    linkName = session.open_live(
      device,
      pcapFilter(watched),
      options.bufferBytes ?? PCAP_BUFFER_BYTES,
      snaplen,
      '',
      onFrame,
      false,
      // 0: immediate mode, so a lone scan packet is not held back for a buffer to fill.
      0,
      // Only pcap_lookupnet warns (a device without an IPv4 address, such as `any`);
      // the netmask it looks up matters to no part of this filter.
      () => {},
      options.promiscuous,
    );
  } catch (err) {
    throw new StartupError(`libpcap on ${device}: ${messageOf(err) || 'cannot open the device'}`, { cause: err });
  }
  linkType = linkTypeNumber(linkName);
  if (!isSupportedLinkType(linkType)) {
    session.close();
    throw new StartupError(`libpcap on ${device}: link type ${linkName.replace(/^Unknown linktype /, '')} is not supported`);
  }

  let stopped = false;
  return {
    statsLine() {
      try {
        const st = session.stats();
        return `libpcap on ${device}: ${st.ps_recv} packets passed the kernel filter, ${st.ps_drop} dropped by the kernel`;
      } catch (err) {
        return `libpcap on ${device}: no statistics: ${messageOf(err)}`;
      }
    },
    start(onPacket, onDrained, onError) {
      deliver = onPacket;
      let failed = false;
      session.read_callback = () => {
        if (failed) return;
        // pcap_dispatch returns -1 on a read error; -2 only after close(). After a
        // stop, frames are still read (and dropped): the descriptor stays readable
        // otherwise, and the event loop would spin until the process exits.
        if (session.dispatch(frame, header) === -1 && !stopped) {
          failed = true;
          onError(new Error(`libpcap on ${device}: read error`));
          return;
        }
        if (!stopped) onDrained();
      };
      session.start_polling();
      // Whatever arrived between open and start is read now, not at the next packet.
      session.read_callback();
    },
    close() {
      if (stopped) return;
      stopped = true;
      deliver = () => {};
      session.close();
    },
  };
}
