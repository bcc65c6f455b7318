// The libpcap capture backend: a handle on one device (or `any`) with a kernel
// filter, so it sees packets before the host firewall does and only the ones
// scanlogd can use ever reach user space.

import os = require('node:os');
import { StartupError, describe } from '../shared/errors.js';
import { CAPTURE_SNAPLEN } from './packet.js';
import { LinkType, MAX_LINK_HEADER, ipv4Offset, isSupportedLinkType } from './linklayer.js';
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
}

/** Opens the handle (as root, before the drop); libpcap and the addon load here. */
export function openPcap(options: PcapOptions): PacketSource {
  const { device } = options;
  let binding: Binding;
  try {
    binding = require('pcap/build/Release/pcap_binding.node') as Binding;
  } catch (err) {
    // Node appends the require stack on further lines; the first says what is missing.
    const why = describe(err).split('\n')[0] ?? '';
    throw new StartupError(`libpcap: cannot load the pcap addon (${why}); install the optional npm dependency pcap, which needs libpcap-dev`, { cause: err });
  }
  const session = new binding.PcapSession();
  liveSessions.push(session);
  const frame = Buffer.alloc(PCAP_SNAPLEN);
  const header = Buffer.alloc(16);
  // The header's caplen (offset 8) is in host byte order.
  const littleEndian = os.endianness() === 'LE';
  // One view per possible IP offset, made once: no allocation per packet.
  const views = Array.from({ length: MAX_LINK_HEADER + 1 }, (_, i) => frame.subarray(i));
  let deliver: (pkt: Buffer, length: number) => void = () => {};
  let linkType = -1;

  const onFrame = (): void => {
    const caplen = littleEndian ? header.readUInt32LE(8) : header.readUInt32BE(8);
    const offset = ipv4Offset(linkType, frame, caplen);
    if (offset >= 0) deliver(views[offset] as Buffer, caplen - offset);
  };

  let linkName: string;
  try {
    linkName = session.open_live(
      device,
      PCAP_FILTER,
      options.bufferBytes ?? PCAP_BUFFER_BYTES,
      PCAP_SNAPLEN,
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
    throw new StartupError(`libpcap on ${device}: ${describe(err) || 'cannot open the device'}`, { cause: err });
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
        return `libpcap on ${device}: no statistics: ${describe(err)}`;
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
