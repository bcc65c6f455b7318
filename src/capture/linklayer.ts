// Link-layer headers in front of the IP packet on a libpcap handle: where the IP
// packet starts in a captured frame, so that the raw socket's checks apply unchanged.
// IPv4 always; IPv6 too when the caller watches it (--ipv6).

/** Link types as pcap_datalink(3) reports them on Linux. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 12,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
} as const;

const SUPPORTED: ReadonlySet<number> = new Set(Object.values(LinkType));

export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED.has(linkType);
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
/** Tags skipped at most: one 802.1ad outer tag and one 802.1Q inner tag. */
const MAX_VLAN_TAGS = 2;
const VLAN_TAG_LENGTH = 4;
const ETHERNET_HEADER = 14;
const SLL_HEADER = 16;
const SLL2_HEADER = 20;
const NULL_HEADER = 4;
const AF_INET = 2;
/** AF_INET6 in a BSD loopback header: Linux, OpenBSD, FreeBSD and macOS differ. */
const AF_INET6_VALUES: ReadonlySet<number> = new Set([10, 24, 28, 30]);
/** sll_pkttype of a packet this host sent. */
const PACKET_OUTGOING = 4;

/** The longest link header this module accepts: Linux cooked capture with two tags. */
export const MAX_LINK_HEADER = SLL_HEADER + MAX_VLAN_TAGS * VLAN_TAG_LENGTH;

/** Why a frame carries nothing for the packet checks (values are negative). */
export const LinkSkip = {
  short: -1,
  /** Not IPv4, nor IPv6 while IPv6 is watched (ARP, or IPv6 without --ipv6). */
  notWatched: -2,
  /** A cooked frame going the other way than the handle takes (outgoing, or for the answers handle inbound). */
  outgoing: -3,
  tooManyTags: -4,
} as const;

/**
 * Skips VLAN tags from `at`, where an EtherType field sits, and returns the offset of
 * the payload if the final EtherType is IPv4. Linux takes the tag off before the
 * kernel filter runs and libpcap puts it back into the frame, so tagged frames do
 * reach user space.
 */
function afterEtherType(frame: Buffer, size: number, at: number, ipv6: boolean): number {
  for (let tags = 0; ; tags++) {
    if (at + 2 > size) return LinkSkip.short;
    const type = frame.readUInt16BE(at);
    if (type === ETHERTYPE_IPV4 || (ipv6 && type === ETHERTYPE_IPV6)) return at + 2;
    if (type !== ETHERTYPE_VLAN && type !== ETHERTYPE_QINQ) return LinkSkip.notWatched;
    if (tags === MAX_VLAN_TAGS) return LinkSkip.tooManyTags;
    at += VLAN_TAG_LENGTH;
  }
}

/**
 * The offset of the IPv4 header (or, with `ipv6`, of an IPv6 header) in the first
 * `length` bytes of `frame`, or a negative LinkSkip value. Never throws for any bytes.
 * A cooked frame (`any`, PPP) says its direction: only inbound ones are taken, or with
 * `leaving` only the ones going out.
 */
export function ipOffset(linkType: number, frame: Buffer, length: number, ipv6 = false, leaving = false): number {
  const size = Math.min(length, frame.length);
  let offset: number;
  switch (linkType) {
    case LinkType.ETHERNET:
      offset = afterEtherType(frame, size, ETHERNET_HEADER - 2, ipv6);
      break;
    case LinkType.LINUX_SLL:
      if (size < SLL_HEADER) return LinkSkip.short;
      // The kernel filter already keeps one direction; the header says it too.
      if ((frame.readUInt16BE(0) === PACKET_OUTGOING) !== leaving) return LinkSkip.outgoing;
      offset = afterEtherType(frame, size, SLL_HEADER - 2, ipv6);
      break;
    case LinkType.LINUX_SLL2:
      if (size < SLL2_HEADER) return LinkSkip.short;
      if ((frame[10] === PACKET_OUTGOING) !== leaving) return LinkSkip.outgoing;
      offset =
        frame.readUInt16BE(0) === ETHERTYPE_IPV4 || (ipv6 && frame.readUInt16BE(0) === ETHERTYPE_IPV6) ? SLL2_HEADER : LinkSkip.notWatched;
      break;
    case LinkType.NULL:
      if (size < NULL_HEADER) return LinkSkip.short;
      // The family is in the capturing host's byte order.
      offset =
        frame.readUInt32LE(0) === AF_INET ||
        frame.readUInt32BE(0) === AF_INET ||
        (ipv6 && (AF_INET6_VALUES.has(frame.readUInt32LE(0)) || AF_INET6_VALUES.has(frame.readUInt32BE(0))))
          ? NULL_HEADER
          : LinkSkip.notWatched;
      break;
    case LinkType.RAW:
      offset = 0;
      break;
    default:
      return LinkSkip.notWatched;
  }
  if (offset < 0) return offset;
  if (offset >= size) return LinkSkip.short;
  const version = (frame[offset] as number) >> 4;
  return version === 4 || (ipv6 && version === 6) ? offset : LinkSkip.notWatched;
}

/** The IPv4 header's offset: ipOffset for scanlogd's own traffic. */
export function ipv4Offset(linkType: number, frame: Buffer, length: number): number {
  return ipOffset(linkType, frame, length, false);
}
