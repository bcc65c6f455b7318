// The libpcap capture backend: a handle on one device (or `any`) with a kernel
// filter, so it sees packets before the host firewall does and only the ones
// scanlogd can use ever reach user space.

import { StartupError, messageOf } from '../shared/errors.js';
import { loadAddon } from '../shared/addon.js';
import { CAPTURE_SNAPLEN, CAPTURE_SNAPLEN6, CLASSIC, type Watched } from './packet.js';
import { MAX_LINK_HEADER, ipOffset, isSupportedLinkType } from './linklayer.js';
import { BATCH_SLOTS, batchBuffers, batchSource, type CaptureCounts, type PacketSource } from './source.js';
import type { PcapHandle, PcapRecv } from '../types/pcaprecv.js';

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
 * The second stage's answers handle (--slow-scans): packets leaving through the device
 * that answer a first contact, which the inbound filter above never passes, so that a
 * contact to a host behind a gateway watched on its outside device is judged by the
 * host's answer rather than after a wait. Only IPv4 resets, SYN+ACKs and ICMP
 * destination unreachable (a gateway's host unreachable for an address nobody answers
 * ARP for, a REJECT rule's answer, a closed UDP port): an outbound bulk transfer (pure
 * ACK and PSH+ACK segments, datagrams) is refused by the kernel and never wakes the
 * capture process. An ICMP error quoting UDP gives a record only with --udp (packet.ts).
 */
export const ANSWERS_FILTER = 'outbound and ip and ((tcp and (tcp[13] & 0x04 != 0 or tcp[13] & 0x12 = 0x12)) or (icmp and icmp[0] = 3))';
/**
 * With --ipv6 the same for IPv6: resets and SYN+ACKs right after the fixed header (the
 * flags byte at 40 + 13), ICMPv6 destination unreachable (type 1; packet too big, type 2,
 * is not passed), and packets with an extension header first, which BPF cannot walk:
 * packet.ts walks them and drops what is not an answer. A fragment header first passes
 * only on a first fragment: a later one carries no transport header.
 */
export const ANSWERS_FILTER6 =
  'outbound and ((ip and ((tcp and (tcp[13] & 0x04 != 0 or tcp[13] & 0x12 = 0x12)) or (icmp and icmp[0] = 3))) or ' +
  '(ip6 and ((ip6[6] == 6 and (ip6[53] & 0x04 != 0 or ip6[53] & 0x12 = 0x12)) or (ip6[6] == 58 and ip6[40] == 1) or ' +
  'ip6[6] == 0 or ip6[6] == 43 or (ip6[6] == 44 and ip6[42:2] & 0xfff8 == 0) or ip6[6] == 60)))';
/** The answers handle's filter: the IPv4 one, unchanged, unless IPv6 is watched. */
export function answersFilter(watched: Readonly<Watched>): string {
  return watched.ipv6 ? ANSWERS_FILTER6 : ANSWERS_FILTER;
}
/** An answer's bytes: an IPv4 header, an ICMP header, and the quoted header and ports. */
export const ANSWERS_SNAPLEN = MAX_LINK_HEADER + 60 + 8 + 60 + 8;
/** With --ipv6: an IPv6 header, an ICMPv6 header, and a quoted packet with the room an inbound one has. */
export const ANSWERS_SNAPLEN6 = MAX_LINK_HEADER + 40 + 8 + CAPTURE_SNAPLEN6;
/** Answers are one per first contact: a small ring holds a burst of them. */
export const ANSWERS_BUFFER_BYTES = 1024 * 1024;

/**
 * The ring libpcap maps for the handle. A slot takes a couple of hundred bytes at
 * this snap length (libpcap's header, the frame, alignment), so 8 MB holds tens of
 * thousands of packets, no fewer than the raw socket's 16 MB queue, where each packet
 * is charged its whole kernel buffer. The ring is mapped into the capture process,
 * so it shows in its resident memory once used (the benchmark's MEM rows).
 */
export const PCAP_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * The one place the reader is loaded: only with --interface, as root, before the drop,
 * so the raw-socket default never maps libpcap. It is missing where npm ci ran without
 * libpcap-dev, and cannot load where libpcap itself is not installed.
 */
export function loadPcapRecv(): PcapRecv {
  return loadAddon<PcapRecv>(
    'pcaprecv',
    'libpcap: reader',
    'it needs libpcap at run time; npm ci builds it where libpcap-dev is installed',
  );
}

export interface PcapOptions {
  device: string;
  promiscuous: boolean;
  bufferBytes?: number;
  /** --udp, --ipv6: what the filter passes beyond IPv4 TCP. */
  watched?: Readonly<Watched>;
  /** --slow-scans: a second handle takes the answers leaving through the device (answersFilter). */
  answers?: boolean;
}

/** Opens the handle (as root, before the drop); libpcap and its reader load here. */
export function openPcap(options: PcapOptions, reader: PcapRecv = loadPcapRecv()): PacketSource {
  const { device } = options;
  const watched = options.watched ?? CLASSIC;
  const snaplen = watched.ipv6 ? PCAP_SNAPLEN6 : PCAP_SNAPLEN;
  const label = `libpcap on ${device}`;
  const main = openHandle(
    reader,
    device,
    label,
    pcapFilter(watched),
    snaplen,
    options.bufferBytes ?? PCAP_BUFFER_BYTES,
    options.promiscuous,
    watched.ipv6,
    false,
  );
  let answers: OpenHandle | null = null;
  if (options.answers === true) {
    try {
      answers = openHandle(
        reader,
        device,
        `${label} (answers)`,
        answersFilter(watched),
        watched.ipv6 ? ANSWERS_SNAPLEN6 : ANSWERS_SNAPLEN,
        ANSWERS_BUFFER_BYTES,
        false,
        watched.ipv6,
        true,
      );
    } catch (err) {
      main.source.close();
      throw err;
    }
  }
  const handles = answers === null ? [main] : [main, answers];
  const counts = (): CaptureCounts => {
    if (main.source.closed) throw new Error('the handle is closed');
    return reader.stats(main.handle);
  };
  // The answers handle's drops count with the device's: both are the one capture socket the monitor knows.
  const droppedByKernel = (): number => handles.reduce((sum, h) => (sum + reader.stats(h.handle).droppedByKernel) >>> 0, 0);
  const opened = answers;
  return {
    start: (onPacket, onDrained, onError) => main.source.start(onPacket, onDrained, onError),
    ...(opened === null ? {} : { startAnswers: (onAnswer, onDrained, onError) => opened.source.start(onAnswer, onDrained, onError) }),
    close: () => {
      for (const h of handles) h.source.close();
    },
    kernelDrops: () => (main.source.closed ? [] : [{ socket: 'pcap', count: droppedByKernel() }]),
    counts,
    statsLine() {
      try {
        const st = counts();
        const line = `${label}: ${st.received} packets passed the kernel filter, ${st.droppedByKernel} dropped by the kernel`;
        if (opened === null) return line;
        const at = reader.stats(opened.handle);
        return `${line}; answers: ${at.received} passed, ${at.droppedByKernel} dropped`;
      } catch (err) {
        return `${label}: no statistics: ${messageOf(err)}`;
      }
    },
  };
}

interface OpenHandle {
  handle: PcapHandle;
  source: ReturnType<typeof batchSource<PcapHandle>>;
}

function openHandle(
  reader: PcapRecv,
  device: string,
  label: string,
  filter: string,
  snaplen: number,
  bufferBytes: number,
  promiscuous: boolean,
  ipv6: boolean,
  leaving: boolean,
): OpenHandle {
  let handle: PcapHandle;
  try {
    handle = reader.open(device, filter, snaplen, bufferBytes, promiscuous);
  } catch (err) {
    throw new StartupError(`${label}: ${messageOf(err) || 'cannot open the device'}`, { cause: err });
  }
  const linkType = reader.linkType(handle);
  if (!isSupportedLinkType(linkType)) {
    reader.close(handle);
    throw new StartupError(`${label}: link type ${linkType} is not supported`);
  }
  const buffers = batchBuffers(snaplen);
  // One view per slot and IP offset, made when first needed: the offset is nearly always
  // the same on one device, so few are ever made, and none per packet.
  const views: Array<Buffer | undefined> = new Array<Buffer | undefined>(BATCH_SLOTS * (MAX_LINK_HEADER + 1));
  const view = (slot: number, offset: number): Buffer =>
    (views[slot * (MAX_LINK_HEADER + 1) + offset] ??= buffers.data.subarray(slot * snaplen + offset, (slot + 1) * snaplen));
  const source = batchSource(
    reader,
    handle,
    buffers,
    { label, noun: 'handle', failure: (message) => `${label}: read error: ${message}` },
    (slot, length, onPacket) => {
      const offset = ipOffset(linkType, view(slot, 0), length, ipv6, leaving);
      if (offset >= 0) onPacket(view(slot, offset), length - offset);
    },
  );
  return { handle, source };
}
