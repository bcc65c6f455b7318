// ipv4Offset: where the IPv4 packet starts behind each link layer a libpcap handle
// can give (crafted frames for each), what is skipped, and a fuzz.

import test from 'ava';
import { LinkSkip, LinkType, MAX_LINK_HEADER, ipOffset, ipv4Offset } from '../../src/capture/linklayer.js';
import { packetToRecord } from '../../src/capture/packet.js';
import { PCAP_SNAPLEN, PCAP_SNAPLEN6 } from '../../src/capture/pcap.js';
import { decode, RECORD_SIZE, type Tcp4Record } from '../../src/shared/record.js';
import { Xorshift32 } from '../shared/xorshift.js';
import { formatAddress, parseAddress } from '../../src/shared/ipv4.js';

/** An IPv4+TCP SYN from 198.18.0.2:60508 to 198.18.0.1:22 with `optionWords` of IP options. */
function synPacket(optionWords = 0, fragment = 0x4000): Buffer {
  const ihl = 5 + optionWords;
  const tcp = ihl * 4;
  const pkt = Buffer.alloc(tcp + 20, 0x01);
  pkt[0] = 0x40 | ihl;
  pkt[1] = 0x10;
  pkt.writeUInt16BE(pkt.length, 2);
  pkt.writeUInt16BE(fragment, 6);
  pkt[8] = 64;
  pkt[9] = 6;
  pkt.writeUInt32BE(parseAddress('198.18.0.2'), 12);
  pkt.writeUInt32BE(parseAddress('198.18.0.1'), 16);
  pkt.writeUInt16BE(60508, tcp);
  pkt.writeUInt16BE(22, tcp + 2);
  pkt[tcp + 12] = 0x50;
  pkt[tcp + 13] = 0x02;
  return pkt;
}

const MAC_A = Buffer.from('02aabbccdd01', 'hex');
const MAC_B = Buffer.from('02aabbccdd02', 'hex');
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const vlanTag = (type: number, id: number): Buffer => Buffer.concat([u16(type), u16(id)]);

function ethernet(etherType: number, payload: Buffer, tags: Buffer[] = []): Buffer {
  return Buffer.concat([MAC_A, MAC_B, ...tags, u16(etherType), payload]);
}

/** Linux cooked capture v1: packet type, ARPHRD, address length, 8 address bytes, protocol. */
function sll(packetType: number, protocol: number, payload: Buffer, tags: Buffer[] = []): Buffer {
  const h = Buffer.alloc(14);
  h.writeUInt16BE(packetType, 0);
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  MAC_A.copy(h, 6);
  return Buffer.concat([h, ...tags, u16(protocol), payload]);
}

/** Linux cooked capture v2: protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes. */
function sll2(packetType: number, protocol: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(protocol, 0);
  h.writeUInt32BE(3, 4);
  h.writeUInt16BE(1, 8);
  h[10] = packetType;
  h[11] = 6;
  MAC_A.copy(h, 12);
  return Buffer.concat([h, payload]);
}

function nullLink(family: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(family, 0);
  return Buffer.concat([h, payload]);
}

const PACKET_HOST = 0;
const PACKET_OUTGOING = 4;

interface Case {
  name: string;
  linkType: number;
  frame: Buffer;
  /** The offset expected, or the LinkSkip reason. */
  want: number;
}

const syn = synPacket();
const synWithOptions = synPacket(10);
const ipv6 = Buffer.concat([Buffer.from([0x60]), Buffer.alloc(59)]);

const cases: Case[] = [
  { name: 'Ethernet (also Linux loopback)', linkType: LinkType.ETHERNET, frame: ethernet(0x0800, syn), want: 14 },
  { name: 'Ethernet, IP options', linkType: LinkType.ETHERNET, frame: ethernet(0x0800, synWithOptions), want: 14 },
  { name: 'Ethernet, 802.1Q tag', linkType: LinkType.ETHERNET, frame: ethernet(0x0800, syn, [vlanTag(0x8100, 10)]), want: 18 },
  {
    name: 'Ethernet, 802.1ad outer and 802.1Q inner tag',
    linkType: LinkType.ETHERNET,
    frame: ethernet(0x0800, syn, [vlanTag(0x88a8, 20), vlanTag(0x8100, 10)]),
    want: 22,
  },
  {
    name: 'Ethernet, three tags',
    linkType: LinkType.ETHERNET,
    frame: ethernet(0x0800, syn, [vlanTag(0x88a8, 1), vlanTag(0x8100, 2), vlanTag(0x8100, 3)]),
    want: LinkSkip.tooManyTags,
  },
  { name: 'Ethernet, IPv6', linkType: LinkType.ETHERNET, frame: ethernet(0x86dd, ipv6), want: LinkSkip.notWatched },
  { name: 'Ethernet, ARP', linkType: LinkType.ETHERNET, frame: ethernet(0x0806, Buffer.alloc(28)), want: LinkSkip.notWatched },
  {
    name: 'Ethernet type IPv4 around an IPv6 packet',
    linkType: LinkType.ETHERNET,
    frame: ethernet(0x0800, ipv6),
    want: LinkSkip.notWatched,
  },
  { name: 'Ethernet header cut short', linkType: LinkType.ETHERNET, frame: ethernet(0x0800, syn).subarray(0, 13), want: LinkSkip.short },
  {
    name: 'Ethernet header and nothing after it',
    linkType: LinkType.ETHERNET,
    frame: ethernet(0x0800, Buffer.alloc(0)),
    want: LinkSkip.short,
  },
  { name: 'Linux cooked (any)', linkType: LinkType.LINUX_SLL, frame: sll(PACKET_HOST, 0x0800, syn), want: 16 },
  { name: 'Linux cooked, IP options', linkType: LinkType.LINUX_SLL, frame: sll(PACKET_HOST, 0x0800, synWithOptions), want: 16 },
  { name: 'Linux cooked, 802.1Q tag', linkType: LinkType.LINUX_SLL, frame: sll(PACKET_HOST, 0x0800, syn, [vlanTag(0x8100, 10)]), want: 20 },
  { name: 'Linux cooked, outgoing', linkType: LinkType.LINUX_SLL, frame: sll(PACKET_OUTGOING, 0x0800, syn), want: LinkSkip.outgoing },
  { name: 'Linux cooked, IPv6', linkType: LinkType.LINUX_SLL, frame: sll(PACKET_HOST, 0x86dd, ipv6), want: LinkSkip.notWatched },
  {
    name: 'Linux cooked, 15 bytes',
    linkType: LinkType.LINUX_SLL,
    frame: sll(PACKET_HOST, 0x0800, syn).subarray(0, 15),
    want: LinkSkip.short,
  },
  { name: 'Linux cooked v2', linkType: LinkType.LINUX_SLL2, frame: sll2(PACKET_HOST, 0x0800, syn), want: 20 },
  { name: 'Linux cooked v2, outgoing', linkType: LinkType.LINUX_SLL2, frame: sll2(PACKET_OUTGOING, 0x0800, syn), want: LinkSkip.outgoing },
  { name: 'Linux cooked v2, IPv6', linkType: LinkType.LINUX_SLL2, frame: sll2(PACKET_HOST, 0x86dd, ipv6), want: LinkSkip.notWatched },
  { name: 'BSD loopback (DLT_NULL), AF_INET', linkType: LinkType.NULL, frame: nullLink(2, syn), want: 4 },
  { name: 'BSD loopback, AF_INET6', linkType: LinkType.NULL, frame: nullLink(10, ipv6), want: LinkSkip.notWatched },
  { name: 'raw IP (tun)', linkType: LinkType.RAW, frame: syn, want: 0 },
  { name: 'raw IP, IPv6', linkType: LinkType.RAW, frame: ipv6, want: LinkSkip.notWatched },
  { name: 'raw IP, empty', linkType: LinkType.RAW, frame: Buffer.alloc(0), want: LinkSkip.short },
  { name: 'an unsupported link type', linkType: 105, frame: ethernet(0x0800, syn), want: LinkSkip.notWatched },
];

for (const c of cases) {
  test(`link layer: ${c.name}`, (t) => {
    t.is(ipv4Offset(c.linkType, c.frame, c.frame.length), c.want);
  });
}

test('link layer: the IP packet behind each header gives the same record as on the raw socket', (t) => {
  const direct = Buffer.alloc(RECORD_SIZE);
  t.is(packetToRecord(synWithOptions, synWithOptions.length, 77, direct, 0), 'ok');
  const framed: Array<[number, Buffer]> = [
    [LinkType.ETHERNET, ethernet(0x0800, synWithOptions)],
    [LinkType.ETHERNET, ethernet(0x0800, synWithOptions, [vlanTag(0x8100, 5)])],
    [LinkType.LINUX_SLL, sll(PACKET_HOST, 0x0800, synWithOptions)],
    [LinkType.LINUX_SLL2, sll2(PACKET_HOST, 0x0800, synWithOptions)],
    [LinkType.NULL, nullLink(2, synWithOptions)],
    [LinkType.RAW, synWithOptions],
  ];
  for (const [linkType, frame] of framed) {
    const offset = ipv4Offset(linkType, frame, frame.length);
    const out = Buffer.alloc(RECORD_SIZE);
    t.is(packetToRecord(frame.subarray(offset), frame.length - offset, 77, out, 0), 'ok');
    t.deepEqual(out, direct);
  }
  const r = decode(direct) as Tcp4Record;
  t.is(`${formatAddress(r.saddr)}:${r.sport}>${r.dport} tos ${r.tos}`, '198.18.0.2:60508>22 tos 16');
});

test('link layer: a non-first fragment behind Ethernet is skipped by the packet checks, a first one is not', (t) => {
  const out = Buffer.alloc(RECORD_SIZE);
  const later = ethernet(0x0800, synPacket(0, 0x0010));
  const first = ethernet(0x0800, synPacket(0, 0x2000));
  t.is(packetToRecord(later.subarray(14), later.length - 14, 0, out, 0), 'fragment');
  t.is(packetToRecord(first.subarray(14), first.length - 14, 0, out, 0), 'ok');
});

test('link layer: the snap length holds the longest header and the longest IP+TCP header scanlogd reads', (t) => {
  const frame = sll(PACKET_HOST, 0x0800, synPacket(10), [vlanTag(0x88a8, 1), vlanTag(0x8100, 2)]);
  t.is(ipv4Offset(LinkType.LINUX_SLL, frame, frame.length), MAX_LINK_HEADER);
  t.is(frame.length, PCAP_SNAPLEN);
});

test('fuzz: 100000 random frames on every link type never throw, and what passes is an IPv4 header in bounds', (t) => {
  const rng = new Xorshift32(0x11c0ffee);
  const types = [...Object.values(LinkType), 105];
  const skips = new Set<number>(Object.values(LinkSkip));
  const out = Buffer.alloc(RECORD_SIZE);
  const seen = new Map<string, number>();
  let wrong = '';
  for (let i = 0; i < 100000 && wrong === ''; i++) {
    const linkType = types[rng.below(types.length)] as number;
    const frame = rng.bytes(rng.below(PCAP_SNAPLEN + 1));
    // Often plant plausible header fields so the deeper branches are reached.
    if (rng.below(2) === 0) {
      const ipType = [0x08, 0x00];
      const tag = [0x81, 0x00];
      if (linkType === LinkType.ETHERNET && frame.length >= 14) frame.set(rng.below(3) === 0 ? tag : ipType, 12);
      if (linkType === LinkType.ETHERNET && frame.length >= 18 && rng.below(2) === 0) frame.set(ipType, 16);
      if (linkType === LinkType.LINUX_SLL && frame.length >= 16) frame.set(rng.below(3) === 0 ? tag : ipType, 14);
      if (linkType === LinkType.LINUX_SLL2 && frame.length >= 2) frame.set(ipType, 0);
      if (linkType === LinkType.NULL && frame.length >= 4) frame.writeUInt32LE(2, 0);
      for (const at of [0, 4, 14, 16, 18, 20, 22]) if (frame.length > at && rng.below(3) === 0) frame[at] = 0x45;
    }
    const length = rng.below(4) === 0 ? rng.below(PCAP_SNAPLEN * 2) : frame.length;
    let offset: number;
    try {
      offset = ipv4Offset(linkType, frame, length);
      const key = `${linkType}:${offset}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (offset < 0) {
        if (!skips.has(offset)) wrong = `frame ${frame.toString('hex')} gave unknown skip ${offset}`;
        continue;
      }
      const size = Math.min(length, frame.length);
      if (offset > MAX_LINK_HEADER || offset >= size || (frame[offset] as number) >> 4 !== 4) {
        wrong = `type ${linkType} frame ${frame.toString('hex')} length ${length}: offset ${offset}`;
        continue;
      }
      packetToRecord(frame.subarray(offset), length - offset, 0, out, 0);
    } catch (err) {
      wrong = `type ${linkType} frame ${frame.toString('hex')} length ${length} threw ${String(err)}`;
    }
  }
  t.is(wrong, '');
  // Every link type reached a passing frame, so the deep paths were exercised.
  for (const linkType of Object.values(LinkType)) {
    t.true(
      [...seen.keys()].some((k) => k.startsWith(`${linkType}:`) && !k.includes(':-')),
      `link type ${linkType}`,
    );
  }
});

// ---------------------------------------------------------------------------
// --ipv6: IPv6 behind each link layer, only when asked for.

/** A minimal IPv6 header (version 6) and 20 bytes of TCP. */
const ip6Packet = (): Buffer => {
  const pkt = Buffer.alloc(60);
  pkt[0] = 0x60;
  pkt[6] = 6;
  pkt[7] = 64;
  return pkt;
};

const ipv6Frames: Array<[string, number, Buffer, number]> = [
  ['Ethernet', LinkType.ETHERNET, ethernet(0x86dd, ip6Packet()), 14],
  ['Ethernet, one 802.1Q tag', LinkType.ETHERNET, ethernet(0x86dd, ip6Packet(), [vlanTag(0x8100, 5)]), 18],
  ['Linux cooked v1', LinkType.LINUX_SLL, sll(0, 0x86dd, ip6Packet()), 16],
  ['Linux cooked v2', LinkType.LINUX_SLL2, sll2(0, 0x86dd, ip6Packet()), 20],
  ['BSD loopback, Linux AF_INET6 (10)', LinkType.NULL, Buffer.concat([Buffer.from([10, 0, 0, 0]), ip6Packet()]), 4],
  ['BSD loopback, FreeBSD AF_INET6 (28), big-endian', LinkType.NULL, Buffer.concat([Buffer.from([0, 0, 0, 28]), ip6Packet()]), 4],
  ['raw IP', LinkType.RAW, ip6Packet(), 0],
];

for (const [name, linkType, frame, offset] of ipv6Frames) {
  test(`IPv6 behind ${name}: at ${offset} with --ipv6, skipped without`, (t) => {
    t.is(ipOffset(linkType, frame, frame.length, true), offset);
    t.is(ipOffset(linkType, frame, frame.length, false), LinkSkip.notWatched);
    t.is(ipv4Offset(linkType, frame, frame.length), LinkSkip.notWatched);
  });
}

test('with --ipv6, an IPv4 frame is found as before, and outgoing IPv6 is still skipped', (t) => {
  const v4 = ethernet(0x0800, synPacket());
  t.is(ipOffset(LinkType.ETHERNET, v4, v4.length, true), 14);
  t.is(ipOffset(LinkType.LINUX_SLL, sll(4, 0x86dd, ip6Packet()), 80, true), LinkSkip.outgoing);
  // An IPv6 EtherType whose packet says version 4 (or anything but 6) is not trusted.
  const liar = ethernet(0x86dd, synPacket());
  t.is(ipOffset(LinkType.ETHERNET, liar, liar.length, true), 14, 'the version nibble decides: it is IPv4');
  const bad = ethernet(0x86dd, Buffer.alloc(40, 0x50));
  t.is(ipOffset(LinkType.ETHERNET, bad, bad.length, true), LinkSkip.notWatched);
});

test('the answers handle (leaving) takes only the cooked frames going out; the device handle only the others', (t) => {
  const syn = synPacket();
  for (const [linkType, frame] of [
    [LinkType.LINUX_SLL, (type: number) => sll(type, 0x0800, syn)],
    [LinkType.LINUX_SLL2, (type: number) => sll2(type, 0x0800, syn)],
  ] as const) {
    const out = frame(PACKET_OUTGOING);
    const inbound = frame(PACKET_HOST);
    const header = linkType === LinkType.LINUX_SLL ? 16 : 20;
    t.is(ipOffset(linkType, out, out.length, false, true), header);
    t.is(ipOffset(linkType, inbound, inbound.length, false, true), LinkSkip.outgoing);
    t.is(ipOffset(linkType, out, out.length), LinkSkip.outgoing);
    t.is(ipOffset(linkType, inbound, inbound.length), header);
  }
  // Ethernet says no direction: the kernel filter alone chose it.
  const ether = ethernet(0x0800, syn);
  t.is(ipOffset(LinkType.ETHERNET, ether, ether.length, false, true), 14);
});

test('fuzz: 100000 random frames with --ipv6 never throw and give an in-bounds IPv4 or IPv6 header', (t) => {
  const rng = new Xorshift32(0x86dd);
  const types = Object.values(LinkType);
  let wrong = '';
  for (let i = 0; i < 100000 && wrong === ''; i++) {
    const frame = rng.bytes(rng.below(PCAP_SNAPLEN6 + 1));
    // Often a plausible EtherType and version, so the accepting paths are taken.
    if (frame.length > 40 && rng.below(2) === 0) {
      frame.writeUInt16BE(rng.below(2) === 0 ? 0x86dd : 0x8100, 12);
      frame[14] = rng.below(2) === 0 ? 0x60 : frame[14]!;
    }
    const linkType = types[rng.below(types.length)]!;
    const length = rng.below(4) === 0 ? rng.between(-5, PCAP_SNAPLEN6 + 10) : frame.length;
    let offset: number;
    try {
      offset = ipOffset(linkType, frame, length, true);
    } catch (err) {
      wrong = `threw ${String(err)}`;
      break;
    }
    if (offset >= 0) {
      const version = frame[offset]! >> 4;
      if (offset >= Math.min(length, frame.length) || (version !== 4 && version !== 6))
        wrong = `offset ${offset} of ${frame.toString('hex')}`;
    } else if (!Object.values(LinkSkip).includes(offset as never)) {
      wrong = `unknown verdict ${offset}`;
    }
  }
  t.is(wrong, '');
});
