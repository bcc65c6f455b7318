// packetToRecord, the capture side's only look at packet bytes: scanlogd's sanity
// checks on hand-built IPv4+TCP packets, the record it writes, and a fuzz.

import test from 'ava';
import { CAPTURE_SNAPLEN, answerToRecord, packetToRecord, type PacketVerdict, type Watched } from '../../src/capture/packet.js';
import { decode, MAX_RECORD_SIZE, RECORD_SIZE, type Ip6Record, type Tcp4Record } from '../../src/shared/record.js';
import { formatAddress6, parseAddress6 } from '../../src/shared/ipv6.js';
import { Xorshift32 } from '../shared/xorshift.js';
import { parseAddress } from '../../src/shared/ipv4.js';

interface PacketFields {
  ihl: number;
  tos: number;
  /** Flags and fragment offset, bytes 6-7. */
  fragment: number;
  ttl: number;
  protocol: number;
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  flags: number;
  /** Bytes after the TCP header. */
  payload: number;
}

const SYN: PacketFields = {
  ihl: 5,
  tos: 0,
  fragment: 0x4000, // DF, as Linux sends it
  ttl: 64,
  protocol: 6,
  saddr: '198.18.0.2',
  daddr: '198.18.0.1',
  sport: 60508,
  dport: 22,
  flags: 0x02,
  payload: 0,
};

/** An IPv4 header (options filled with NOPs) and a 20-byte TCP header. */
function ipTcp(change: Partial<PacketFields> = {}): Buffer {
  const f = { ...SYN, ...change };
  const tcp = f.ihl * 4;
  const pkt = Buffer.alloc(tcp + 20 + f.payload, 0x01);
  pkt[0] = 0x40 | f.ihl;
  pkt[1] = f.tos;
  pkt.writeUInt16BE(pkt.length, 2);
  pkt.writeUInt16BE(0x1234, 4);
  pkt.writeUInt16BE(f.fragment, 6);
  pkt[8] = f.ttl;
  pkt[9] = f.protocol;
  pkt.writeUInt16BE(0, 10);
  pkt.writeUInt32BE(parseAddress(f.saddr), 12);
  pkt.writeUInt32BE(parseAddress(f.daddr), 16);
  pkt.writeUInt16BE(f.sport, tcp);
  pkt.writeUInt16BE(f.dport, tcp + 2);
  pkt.writeUInt32BE(0xdeadbeef, tcp + 4);
  pkt.writeUInt32BE(0, tcp + 8);
  pkt[tcp + 12] = 0x50;
  pkt[tcp + 13] = f.flags;
  pkt.writeUInt16BE(64240, tcp + 14);
  pkt.writeUInt32BE(0, tcp + 16);
  return pkt;
}

/** Runs packetToRecord into a record buffer pre-filled with 0xee. */
function convert(pkt: Buffer, length = pkt.length, time = 0x01020304): { verdict: PacketVerdict; out: Buffer } {
  const out = Buffer.alloc(RECORD_SIZE, 0xee);
  return { verdict: packetToRecord(pkt, length, time, out, 0), out };
}

const UNTOUCHED = 'ee'.repeat(RECORD_SIZE);

test('a SYN gives the exact record bytes', (t) => {
  const { verdict, out } = convert(ipTcp());
  t.is(verdict, 'ok');
  // saddr daddr sport dport flags tos ttl version time
  t.is(out.toString('hex'), ['c6120002', 'c6120001', 'ec5c', '0016', '02', '00', '40', '01', '01020304'].join(''));
});

test('TOS, TTL, all eight flag bits and the ports are copied as they are', (t) => {
  const { verdict, out } = convert(
    ipTcp({ tos: 0xb8, ttl: 255, flags: 0xff, sport: 1, dport: 65535, saddr: '10.0.0.1', daddr: '192.168.1.254' }),
    40,
    0xffffffff,
  );
  t.is(verdict, 'ok');
  t.is(out.toString('hex'), ['0a000001', 'c0a801fe', '0001', 'ffff', 'ff', 'b8', 'ff', '01', 'ffffffff'].join(''));
});

test('the record goes at the offset asked for, and nowhere else', (t) => {
  const out = Buffer.alloc(60, 0xee);
  t.is(packetToRecord(ipTcp(), 40, 7, out, 20), 'ok');
  t.is(out.subarray(0, 20).toString('hex'), UNTOUCHED);
  t.is(out.subarray(40).toString('hex'), UNTOUCHED);
  t.deepEqual(decode(out.subarray(20, 40)), {
    type: 'tcp4',
    saddr: parseAddress('198.18.0.2'),
    daddr: parseAddress('198.18.0.1'),
    sport: 60508,
    dport: 22,
    flags: 2,
    tos: 0,
    ttl: 64,
    time: 7,
  });
});

test('the capture time is stored modulo 2^32', (t) => {
  t.is(decode(convert(ipTcp(), 40, 2 ** 32 + 5).out).time, 5);
});

test('IHL 15: the TCP header is read after 40 bytes of options, within 80 bytes', (t) => {
  const pkt = ipTcp({ ihl: 15, dport: 443, flags: 0x29 });
  t.is(pkt.length, 80);
  t.is(CAPTURE_SNAPLEN, 80);
  const { verdict, out } = convert(pkt);
  t.is(verdict, 'ok');
  t.is(out.toString('hex'), ['c6120002', 'c6120001', 'ec5c', '01bb', '29', '00', '40', '01', '01020304'].join(''));
});

// name, packet, length given, expected verdict.
const verdicts: Array<[string, Buffer, number, PacketVerdict]> = [
  ['empty', Buffer.alloc(0), 0, 'short'],
  ['19 bytes', ipTcp().subarray(0, 19), 19, 'short'],
  ['length 19 of a whole packet', ipTcp(), 19, 'short'],
  ['negative length', ipTcp(), -1, 'short'],
  ['IHL 4', Buffer.from(ipTcp()).fill(0x44, 0, 1), 40, 'bad-ihl'],
  ['IHL 0', Buffer.from(ipTcp()).fill(0x40, 0, 1), 40, 'bad-ihl'],
  ['UDP', ipTcp({ protocol: 17 }), 40, 'not-watched'],
  ['ICMP', ipTcp({ protocol: 1 }), 40, 'not-watched'],
  ['a 20-byte UDP header only', ipTcp({ protocol: 17 }).subarray(0, 20), 20, 'not-watched'],
  ['fragment offset 1', ipTcp({ fragment: 0x0001 }), 40, 'fragment'],
  ['fragment offset 0x1fff', ipTcp({ fragment: 0x1fff }), 40, 'fragment'],
  ['middle fragment (MF, offset 185)', ipTcp({ fragment: 0x2000 | 185 }), 40, 'fragment'],
  ['last fragment (offset 185, DF clear)', ipTcp({ fragment: 185 }), 40, 'fragment'],
  ['first fragment (MF set, offset 0)', ipTcp({ fragment: 0x2000 }), 40, 'ok'],
  ['DF set', ipTcp({ fragment: 0x4000 }), 40, 'ok'],
  ['reserved flag bit set', ipTcp({ fragment: 0x8000 }), 40, 'ok'],
  ['IP header only', ipTcp().subarray(0, 20), 20, 'short-tcp'],
  ['TCP header cut at 39 bytes', ipTcp().subarray(0, 39), 39, 'short-tcp'],
  ['TCP header exactly 40 bytes', ipTcp(), 40, 'ok'],
  ['IHL 6, TCP header cut at 43 bytes', ipTcp({ ihl: 6 }).subarray(0, 43), 43, 'short-tcp'],
  ['IHL 15, TCP header cut at 79 bytes', ipTcp({ ihl: 15 }).subarray(0, 79), 79, 'short-tcp'],
  ['IHL 15 in a 60-byte packet (options only)', ipTcp({ ihl: 15 }).subarray(0, 60), 60, 'short-tcp'],
  ['length 39 of a 100-byte buffer', ipTcp({ payload: 60 }), 39, 'short-tcp'],
  ['length 40 of a 100-byte buffer', ipTcp({ payload: 60 }), 40, 'ok'],
  ['length 1500 of a 39-byte buffer', ipTcp().subarray(0, 39), 1500, 'short-tcp'],
  ['length 1500 of a 40-byte buffer', ipTcp(), 1500, 'ok'],
];

for (const [name, pkt, length, verdict] of verdicts) {
  test(`${name}: ${verdict}`, (t) => {
    const result = convert(pkt, length);
    t.is(result.verdict, verdict);
    if (verdict === 'ok') t.is((decode(result.out) as Tcp4Record).dport, 22);
    else t.is(result.out.toString('hex'), UNTOUCHED);
  });
}

/** scanlogd's checks, written independently: which verdict a packet deserves. */
function expectedVerdict(pkt: Buffer, length: number): PacketVerdict {
  const size = Math.min(length, pkt.length);
  if (size < 20) return 'short';
  const ihl = (pkt[0]! & 15) * 4;
  if (ihl < 20) return 'bad-ihl';
  if (pkt[9] !== 6) return 'not-watched';
  if (((pkt[6]! << 8) | pkt[7]!) & 0x1fff) return 'fragment';
  if (ihl + 20 > size) return 'short-tcp';
  return 'ok';
}

test('fuzz: 100000 random buffers and lengths never throw and get the right verdict', (t) => {
  const rng = new Xorshift32(0xcafe);
  const counts: Partial<Record<PacketVerdict, number>> = { ok: 0, short: 0, 'bad-ihl': 0, 'not-watched': 0, fragment: 0, 'short-tcp': 0 };
  let wrong = '';
  const out = Buffer.alloc(RECORD_SIZE);
  for (let i = 0; i < 100000 && wrong === ''; i++) {
    const pkt = rng.bytes(rng.below(101));
    // Often make it look like a first TCP fragment so the later checks are reached.
    if (rng.below(2) === 0 && pkt.length >= 20) {
      pkt[0] = 0x40 | rng.between(5, 15);
      pkt[9] = 6;
      if (rng.below(4) !== 0) {
        pkt[6] = pkt[6]! & 0xe0;
        pkt[7] = 0;
      }
    }
    const length = rng.below(4) === 0 ? rng.between(-10, 120) : pkt.length;
    const time = rng.next();
    let verdict: PacketVerdict;
    try {
      verdict = packetToRecord(pkt, length, time, out, 0);
    } catch (err) {
      wrong = `threw ${String(err)} on ${pkt.toString('hex')} length ${length}`;
      break;
    }
    counts[verdict] = (counts[verdict] ?? 0) + 1;
    const expected = expectedVerdict(pkt, length);
    if (verdict !== expected) {
      wrong = `${verdict} instead of ${expected} for ${pkt.toString('hex')} length ${length}`;
    } else if (verdict === 'ok') {
      const ihl = (pkt[0]! & 15) * 4;
      const r = decode(out) as Tcp4Record;
      const fields = [r.saddr, r.daddr, r.sport, r.dport, r.flags, r.tos, r.ttl, r.time];
      const bytes = [
        pkt.readUInt32BE(12),
        pkt.readUInt32BE(16),
        pkt.readUInt16BE(ihl),
        pkt.readUInt16BE(ihl + 2),
        pkt[ihl + 13],
        pkt[1],
        pkt[8],
        time,
      ];
      if (fields.join() !== bytes.join()) wrong = `record ${out.toString('hex')} from ${pkt.toString('hex')}`;
    }
  }
  t.is(wrong, '');
  // Every path was taken many times.
  for (const [verdict, n] of Object.entries(counts)) t.true(n > 1000, `${verdict}: ${n}`);
});

// ---------------------------------------------------------------------------
// --udp and --ipv6: IPv4 UDP, and IPv6 with its extension headers walked.

const BOTH: Watched = { udp: true, ipv6: true };

function convertWatched(pkt: Buffer, watched: Watched, length = pkt.length, time = 0x01020304): { verdict: PacketVerdict; out: Buffer } {
  const out = Buffer.alloc(MAX_RECORD_SIZE, 0xee);
  return { verdict: packetToRecord(pkt, length, time, out, 0, watched), out };
}

/** An IPv4 header and an 8-byte UDP header. */
function ipUdp(change: Partial<PacketFields> = {}): Buffer {
  const pkt = ipTcp({ protocol: 17, sport: 53, dport: 7, ...change });
  return pkt.subarray(0, (pkt[0]! & 15) * 4 + 8);
}

test('--udp: a UDP datagram gives a type 4 record with a zero flags byte', (t) => {
  const { verdict, out } = convertWatched(ipUdp({ tos: 0x10, ttl: 60 }), { udp: true, ipv6: false });
  t.is(verdict, 'ok');
  t.is(out.subarray(0, 20).toString('hex'), ['c6120002', 'c6120001', '0035', '0007', '00', '10', '3c', '04', '01020304'].join(''));
});

test('--udp: a UDP header cut short, a later fragment and other protocols are rejected; TCP is unchanged', (t) => {
  const udp = { udp: true, ipv6: false };
  t.is(convertWatched(ipUdp().subarray(0, 27), udp).verdict, 'short-udp');
  t.is(convertWatched(ipUdp({ fragment: 185 }), udp).verdict, 'fragment');
  t.is(convertWatched(ipTcp({ protocol: 1 }), udp).verdict, 'not-watched');
  t.is(convertWatched(ipUdp(), { udp: false, ipv6: true }).verdict, 'not-watched', 'UDP without --udp');
  const tcp = convertWatched(ipTcp(), udp);
  t.is(tcp.verdict, 'ok');
  t.is(tcp.out.subarray(0, 20).toString('hex'), convert(ipTcp()).out.toString('hex'));
});

test('without --ipv6 an IPv6 packet is read as scanlogd reads any packet: as IPv4', (t) => {
  const pkt = ip6([], 6);
  t.deepEqual(convert(pkt).verdict, expectedVerdict(pkt, pkt.length));
});

interface Ip6Fields {
  tclass: number;
  hlim: number;
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  flags: number;
}

const SYN6: Ip6Fields = { tclass: 0, hlim: 64, saddr: '2001:db8::2', daddr: '2001:db8::1', sport: 40000, dport: 22, flags: 0x02 };

/** An extension header: its type, and its bytes (next header filled in by ip6()). */
type Ext = [number, Buffer];
const hopByHop = (units = 0): Ext => [0, Buffer.concat([Buffer.from([0, units, 1, 4, 0, 0, 0, 0]), Buffer.alloc(units * 8, 0x01)])];
const routing = (): Ext => [43, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])];
const destination = (units = 0): Ext => [60, Buffer.concat([Buffer.from([0, units, 1, 4, 0, 0, 0, 0]), Buffer.alloc(units * 8, 0x01)])];
const fragment = (offset: number, more: boolean): Ext => {
  const b = Buffer.alloc(8);
  b.writeUInt16BE((offset << 3) | (more ? 1 : 0), 2);
  b.writeUInt32BE(0x12345678, 4);
  return [44, b];
};

/** An IPv6 packet: the fixed header, `exts` in order, then a TCP (20) or UDP (8) header. */
function ip6(exts: Ext[], protocol: number, change: Partial<Ip6Fields> = {}): Buffer {
  const f = { ...SYN6, ...change };
  const head = Buffer.alloc(40);
  head.writeUInt32BE(((6 << 28) | (f.tclass << 20) | 0x12345) >>> 0, 0);
  head[6] = exts.length > 0 ? exts[0]![0] : protocol;
  head[7] = f.hlim;
  Buffer.from(parseAddress6(f.saddr).buffer).swap32().copy(head, 8);
  Buffer.from(parseAddress6(f.daddr).buffer).swap32().copy(head, 24);
  const parts = exts.map(([, bytes], i) => {
    const b = Buffer.from(bytes);
    b[0] = i + 1 < exts.length ? exts[i + 1]![0] : protocol;
    return b;
  });
  const transport = Buffer.alloc(protocol === 17 ? 8 : 20);
  transport.writeUInt16BE(f.sport, 0);
  transport.writeUInt16BE(f.dport, 2);
  if (protocol === 6) {
    transport[12] = 0x50;
    transport[13] = f.flags;
  } else if (protocol === 17) {
    transport.writeUInt16BE(8, 4);
  }
  const pkt = Buffer.concat([head, ...parts, transport]);
  pkt.writeUInt16BE(pkt.length - 40, 4);
  return pkt;
}

test('--ipv6: a SYN gives the exact 52-byte record, traffic class as TOS and hop limit as TTL', (t) => {
  const { verdict, out } = convertWatched(ip6([], 6, { tclass: 0xb8, hlim: 57 }), BOTH);
  t.is(verdict, 'ok');
  t.is(
    out.toString('hex'),
    [
      '9c40',
      '0016',
      '02',
      'b8',
      '39',
      '06',
      '00'.repeat(7),
      '05',
      '01020304',
      '20010db8' + '0'.repeat(16) + '00000002',
      '20010db8' + '0'.repeat(16) + '00000001',
    ].join(''),
  );
  t.deepEqual(decode(out), {
    type: 'ip6',
    protocol: 'tcp',
    saddr: parseAddress6('2001:db8::2'),
    daddr: parseAddress6('2001:db8::1'),
    sport: 40000,
    dport: 22,
    flags: 2,
    tos: 0xb8,
    ttl: 57,
    time: 0x01020304,
  });
});

test('--ipv6: the record goes at the offset asked for, and nowhere else', (t) => {
  const out = Buffer.alloc(120, 0xee);
  t.is(packetToRecord(ip6([], 6), 60, 7, out, 20, BOTH), 'ok');
  t.is(out.subarray(0, 20).toString('hex'), 'ee'.repeat(20));
  t.is(out.subarray(72).toString('hex'), 'ee'.repeat(48));
});

// name, packet, watched, expected verdict, destination port when ok.
const verdicts6: Array<[string, Buffer, Watched, PacketVerdict]> = [
  ['TCP right after the header', ip6([], 6), BOTH, 'ok'],
  ['UDP right after the header', ip6([], 17), BOTH, 'ok'],
  ['UDP without --udp', ip6([], 17), { udp: false, ipv6: true }, 'not-watched'],
  ['hop-by-hop, then TCP', ip6([hopByHop()], 6), BOTH, 'ok'],
  ['hop-by-hop of 3 units, then TCP', ip6([hopByHop(2)], 6), BOTH, 'ok'],
  [
    'hop-by-hop, routing, destination options, fragment 0, then TCP',
    ip6([hopByHop(), routing(), destination(1), fragment(0, true)], 6),
    BOTH,
    'ok',
  ],
  ['a first fragment of UDP', ip6([fragment(0, true)], 17), BOTH, 'ok'],
  ['a later fragment', ip6([fragment(185, true)], 6), BOTH, 'fragment'],
  ['a last fragment', ip6([fragment(1, false)], 17), BOTH, 'fragment'],
  [
    '8 extension headers, then TCP',
    ip6(
      Array.from({ length: 8 }, () => destination()),
      6,
    ),
    BOTH,
    'ok',
  ],
  [
    '9 extension headers, then TCP',
    ip6(
      Array.from({ length: 9 }, () => destination()),
      6,
    ),
    BOTH,
    'too-many-extensions',
  ],
  ['ICMPv6', ip6([], 58), BOTH, 'not-watched'],
  ['no next header', ip6([], 59), BOTH, 'not-watched'],
  ['ESP after hop-by-hop', ip6([hopByHop()], 50), BOTH, 'not-watched'],
  ['the fixed header only', ip6([], 6).subarray(0, 40), BOTH, 'short-tcp'],
  ['39 bytes', ip6([], 6).subarray(0, 39), BOTH, 'short'],
  ['TCP cut at 59 bytes', ip6([], 6).subarray(0, 59), BOTH, 'short-tcp'],
  ['UDP cut at 47 bytes', ip6([], 17).subarray(0, 47), BOTH, 'short-udp'],
  ['an extension header cut after 1 byte', ip6([hopByHop()], 6).subarray(0, 41), BOTH, 'short-extension'],
  ['a fragment header cut after 7 bytes', ip6([fragment(0, true)], 6).subarray(0, 47), BOTH, 'short-extension'],
  ['an extension header longer than the packet', ip6([hopByHop(30)], 6).subarray(0, 100), BOTH, 'short-tcp'],
];

for (const [name, pkt, watched, verdict] of verdicts6) {
  test(`--ipv6: ${name}: ${verdict}`, (t) => {
    const result = convertWatched(pkt, watched);
    t.is(result.verdict, verdict);
    if (verdict === 'ok') {
      const r = decode(result.out) as Ip6Record;
      t.is(r.dport, 22);
      t.is(r.sport, 40000);
      t.is(r.protocol, pkt.includes(Buffer.from([0x9c, 0x40, 0x00, 0x16, 0x00, 0x08])) ? 'udp' : 'tcp');
    } else {
      t.is(result.out.toString('hex'), 'ee'.repeat(MAX_RECORD_SIZE));
    }
  });
}

/**
 * The walk, written independently: the extension headers the walker knows, each whole
 * within the packet, at most 8, first fragments only, then TCP or (with udp) UDP whole.
 */
function expectedVerdict6(pkt: Buffer, size: number, udp: boolean): { verdict: PacketVerdict; at: number; next: number } {
  const fail = (verdict: PacketVerdict): { verdict: PacketVerdict; at: number; next: number } => ({ verdict, at: -1, next: -1 });
  if (size < 40) return fail('short');
  let next = pkt[6]!;
  let at = 40;
  let count = 0;
  while (next !== 6 && next !== 17) {
    if (![0, 43, 44, 60].includes(next)) return fail('not-watched');
    if (count++ === 8) return fail('too-many-extensions');
    if (next === 44) {
      if (at + 8 > size) return fail('short-extension');
      if (pkt.readUInt16BE(at + 2) >> 3 !== 0) return fail('fragment');
      next = pkt[at]!;
      at += 8;
    } else {
      if (at + 2 > size) return fail('short-extension');
      next = pkt[at]!;
      at += (pkt[at + 1]! + 1) * 8;
    }
  }
  if (next === 17 && !udp) return fail('not-watched');
  if (at + (next === 17 ? 8 : 20) > size) return fail(next === 17 ? 'short-udp' : 'short-tcp');
  return { verdict: 'ok', at, next };
}

test('fuzz: 100000 random IPv6 packets (chains of extension headers, fragments, truncation, zero-length and oversized) never throw and get the right verdict and record', (t) => {
  const rng = new Xorshift32(0x1b6);
  const counts: Partial<Record<PacketVerdict, number>> = {};
  const out = Buffer.alloc(MAX_RECORD_SIZE);
  const extTypes = [0, 43, 44, 60, 6, 17, 58, 59, 50, 51, rng.below(256)];
  let wrong = '';
  for (let i = 0; i < 100000 && wrong === ''; i++) {
    // A chain of random extension headers, mostly of the kinds walked, mostly short.
    // A quarter are long chains of walked kinds only, around the limit of 8.
    const long = rng.below(4) === 0;
    const exts: Ext[] = Array.from({ length: long ? rng.between(7, 12) : rng.below(6) }, () => {
      const type = long ? [0, 43, 60, 60, 0, 44][rng.below(6)]! : extTypes[rng.below(extTypes.length)]!;
      if (type === 44) return fragment(rng.below(4) === 0 ? rng.below(8192) : 0, rng.below(2) === 0);
      return [type, Buffer.concat([Buffer.from([0, rng.below(8) === 0 ? rng.below(256) : rng.below(3)]), rng.bytes(6)])];
    });
    let pkt = ip6(exts, rng.below(3) === 0 ? 17 : rng.below(10) === 0 ? rng.below(256) : 6, {
      flags: rng.below(256),
      sport: rng.below(65536),
      dport: rng.below(65536),
    });
    pkt = Buffer.concat([pkt, rng.bytes(rng.below(4) === 0 ? rng.below(2000) : 0)]);
    const length = rng.below(4) === 0 ? rng.between(-5, pkt.length + 10) : pkt.length;
    const udp = rng.below(4) !== 0;
    const size = Math.max(0, Math.min(length, pkt.length));
    let verdict: PacketVerdict;
    try {
      verdict = packetToRecord(pkt, length, 77, out, 0, { udp, ipv6: true });
    } catch (err) {
      wrong = `threw ${String(err)} on ${pkt.toString('hex')}`;
      break;
    }
    counts[verdict] = (counts[verdict] ?? 0) + 1;
    // A zero-length or cut packet whose first byte does not say 6 goes the IPv4 way.
    const expected = size > 0 ? expectedVerdict6(pkt, size, udp) : { verdict: 'short' as PacketVerdict, at: -1, next: -1 };
    if (verdict !== expected.verdict) {
      wrong = `${verdict} instead of ${expected.verdict} for ${pkt.subarray(0, size).toString('hex')}`;
    } else if (verdict === 'ok') {
      const r = decode(out) as Ip6Record;
      const at = expected.at;
      const want = [
        expected.next === 17 ? 'udp' : 'tcp',
        pkt.readUInt16BE(at),
        pkt.readUInt16BE(at + 2),
        expected.next === 17 ? 0 : pkt[at + 13],
        pkt[7],
      ];
      const got = [r.protocol, r.sport, r.dport, r.flags, r.ttl];
      if (got.join() !== want.join()) wrong = `record ${out.toString('hex')} from ${pkt.toString('hex')}`;
      if (formatAddress6(r.saddr) !== '2001:db8::2' || formatAddress6(r.daddr) !== '2001:db8::1')
        wrong = `addresses ${formatAddress6(r.saddr)} ${formatAddress6(r.daddr)}`;
    }
  }
  t.is(wrong, '');
  for (const v of ['ok', 'short-extension', 'too-many-extensions', 'fragment', 'not-watched', 'short-tcp', 'short-udp'] as const)
    t.true((counts[v] ?? 0) > 300, `${v}: ${counts[v]}`);
});

// ---------------------------------------------------------------------------
// Answers leaving the watched device (--slow-scans on libpcap).

/** An ICMP destination unreachable from `router` quoting the first 8 bytes after `quoted`'s IP header. */
function unreachable(quoted: Buffer, code = 3, router = '198.19.5.1'): Buffer {
  const ihl = ((quoted[0] as number) & 0x0f) * 4;
  const icmp = Buffer.alloc(8 + ihl + 8);
  icmp[0] = 3;
  icmp[1] = code;
  quoted.copy(icmp, 8, 0, ihl + 8);
  const outer = ipTcp({ protocol: 1, saddr: router, daddr: '198.18.0.2' }).subarray(0, 20);
  const pkt = Buffer.concat([outer, icmp]);
  pkt.writeUInt16BE(pkt.length, 2);
  return pkt;
}

function answer(pkt: Buffer, udp: boolean, length = pkt.length): { verdict: PacketVerdict; out: Buffer } {
  const out = Buffer.alloc(RECORD_SIZE, 0xee);
  return { verdict: answerToRecord(pkt, length, 0x01020304, out, 0, { udp, ipv6: false }), out };
}

test('answers: a SYN+ACK takes the contact it answers, a reset refuses it; the record names the contact from the host side', (t) => {
  const fromHost = { saddr: '198.19.5.9', daddr: '198.18.0.2', sport: 22, dport: 40000 };
  const synAck = answer(ipTcp({ ...fromHost, flags: 0x12 }), false);
  t.is(synAck.verdict, 'ok');
  // host source port sourcePort verdict protocol 0 type time
  t.is(synAck.out.toString('hex'), ['c6130509', 'c6120002', '0016', '9c40', '01', '06', '00', '07', '01020304'].join(''));
  t.deepEqual(decode(synAck.out), {
    type: 'answer4',
    host: parseAddress('198.19.5.9'),
    source: parseAddress('198.18.0.2'),
    port: 22,
    sourcePort: 40000,
    protocol: 'tcp',
    accepted: true,
    time: 0x01020304,
  });
  for (const flags of [0x04, 0x14]) t.like(decode(answer(ipTcp({ ...fromHost, flags }), false).out), { accepted: false, port: 22 });
  for (const flags of [0x10, 0x18, 0x11, 0x02]) {
    const other = answer(ipTcp({ ...fromHost, flags }), true);
    t.is(other.verdict, 'not-watched', `flags ${flags}`);
    t.is(other.out.toString('hex'), UNTOUCHED);
  }
});

test('answers: an ICMP destination unreachable of any code but fragmentation needed refuses the segment or (with --udp) the datagram it quotes, whoever sent it', (t) => {
  const probe = { saddr: '198.18.0.2', daddr: '198.19.5.9', sport: 53000, dport: 161 };
  const datagram = ipTcp({ ...probe, protocol: 17 });
  const refused = answer(unreachable(datagram), true);
  t.is(refused.verdict, 'ok');
  t.is(refused.out.toString('hex'), ['c6130509', 'c6120002', '00a1', 'cf08', '02', '11', '00', '07', '01020304'].join(''));
  // Without --udp there is no UDP contact to refuse.
  t.is(answer(unreachable(datagram), false).verdict, 'not-watched');
  // A gateway's host unreachable, a REJECT rule's answers, any code: the quoted segment's
  // host and ports name the contact refused, with or without --udp.
  const segment = ipTcp({ ...probe, flags: 0x02 });
  for (let code = 0; code <= 15; code++) {
    for (const udp of [false, true]) {
      const r = answer(unreachable(segment, code), udp);
      // Fragmentation needed is path MTU discovery: the contact goes on.
      if (code === 4) {
        t.is(r.verdict, 'not-watched');
        t.is(r.out.toString('hex'), UNTOUCHED);
        continue;
      }
      t.is(r.verdict, 'ok', `code ${code}`);
      t.is(r.out.toString('hex'), ['c6130509', 'c6120002', '00a1', 'cf08', '02', '06', '00', '07', '01020304'].join(''), `code ${code}`);
    }
  }
  const echoReply = unreachable(datagram);
  echoReply[20] = 0;
  t.is(answer(echoReply, true).verdict, 'not-watched');
  // An error goes back to the contact's source; one sent to another address (forged by
  // someone outside and forwarded out through the device) refuses nothing.
  const forged = unreachable(segment);
  forged[19] = (forged[19] as number) ^ 1;
  const misaddressed = answer(forged, true);
  t.is(misaddressed.verdict, 'not-watched');
  t.is(misaddressed.out.toString('hex'), UNTOUCHED);
});

test('answers: cut-off, fragmented and malformed packets give no record and never throw', (t) => {
  const datagram = ipTcp({ saddr: '198.18.0.2', daddr: '198.19.5.9', protocol: 17 });
  const icmp = unreachable(datagram);
  const cases: Array<[Buffer, number, PacketVerdict]> = [
    [ipTcp({ flags: 0x12 }), 19, 'short'],
    [ipTcp({ flags: 0x12 }), 39, 'short-tcp'],
    [ipTcp({ flags: 0x12, fragment: 0x0010 }), 40, 'fragment'],
    [icmp, 27, 'short-icmp'],
    [icmp, 47, 'short-icmp'],
    [icmp, 51, 'short-icmp'],
    [ipTcp({ flags: 0x12, ihl: 4 }), 60, 'bad-ihl'],
  ];
  for (const [pkt, length, verdict] of cases) {
    const r = answer(pkt, true, length);
    t.is(r.verdict, verdict, `${length} bytes`);
    t.is(r.out.toString('hex'), UNTOUCHED);
  }
  t.is(answer(icmp, true, 52).verdict, 'ok');
  const rng = new Xorshift32(0xa115);
  for (let i = 0; i < 20000; i++) {
    const pkt = rng.bytes(rng.below(80));
    if (pkt.length > 0 && rng.below(2) === 0) pkt[0] = 0x45;
    if (pkt.length > 20 && rng.below(2) === 0) pkt[9] = rng.below(2) === 0 ? 1 : 6;
    if (pkt.length > 28 && rng.below(2) === 0) pkt[28] = 0x45;
    t.notThrows(() => answerToRecord(pkt, rng.below(100), 0, Buffer.alloc(RECORD_SIZE), 0, { udp: true, ipv6: false }));
  }
});

// IPv6 answers (--ipv6).

const UNTOUCHED6 = 'ee'.repeat(MAX_RECORD_SIZE);
const PROBE6 = { saddr: '2001:db8::2', daddr: '2001:db8:5::9', sport: 40000, dport: 22 };
/** The same probe's answer from the contacted host. */
const FROM_HOST6 = { saddr: PROBE6.daddr, daddr: PROBE6.saddr, sport: 22, dport: 40000 };

function answer6(pkt: Buffer, udp = false, length = pkt.length): { verdict: PacketVerdict; out: Buffer } {
  const out = Buffer.alloc(MAX_RECORD_SIZE, 0xee);
  return { verdict: answerToRecord(pkt, length, 0x01020304, out, 0, { udp, ipv6: true }), out };
}

/**
 * An ICMPv6 error of `type` and `code` from `router` quoting all of `quoted`, sent to
 * `to` (the quoted packet's source unless given), after the outer extension headers `exts`.
 */
function icmp6Error(quoted: Buffer, code: number, options: { type?: number; router?: string; to?: string; exts?: Ext[] } = {}): Buffer {
  const to = options.to ?? formatAddress6(Uint32Array.from([0, 1, 2, 3].map((i) => quoted.readUInt32BE(8 + 4 * i))));
  const head = ip6(options.exts ?? [], 58, { saddr: options.router ?? '2001:db8:5::1', daddr: to, hlim: 255 });
  // ip6() ends with a 20-byte transport header: the ICMPv6 header takes its place.
  const icmp = Buffer.alloc(8);
  icmp[0] = options.type ?? 1;
  icmp[1] = code;
  const pkt = Buffer.concat([head.subarray(0, head.length - 20), icmp, quoted]);
  pkt.writeUInt16BE(pkt.length - 40, 4);
  return pkt;
}

/** The answer6 record's bytes for the probe above refused (or taken) over `protocol`. */
function answer6Hex(accepted: boolean, protocol: number, ports = '0016' + '9c40'): string {
  return [
    ports,
    accepted ? '01' : '02',
    protocol.toString(16).padStart(2, '0'),
    '00'.repeat(9),
    '08',
    '01020304',
    '20010db8000500000000000000000009',
    '20010db8000000000000000000000002',
  ].join('');
}

test('IPv6 answers: a SYN+ACK takes the contact, a reset refuses it, through extension headers; the 52-byte record names it from the host side', (t) => {
  const synAck = answer6(ip6([], 6, { ...FROM_HOST6, flags: 0x12 }));
  t.is(synAck.verdict, 'ok');
  t.is(synAck.out.toString('hex'), answer6Hex(true, 6));
  t.deepEqual(decode(synAck.out), {
    type: 'answer6',
    host: parseAddress6('2001:db8:5::9'),
    source: parseAddress6('2001:db8::2'),
    port: 22,
    sourcePort: 40000,
    protocol: 'tcp',
    accepted: true,
    time: 0x01020304,
  });
  for (const flags of [0x04, 0x14]) t.is(answer6(ip6([], 6, { ...FROM_HOST6, flags })).out.toString('hex'), answer6Hex(false, 6));
  // Hop-by-hop, destination options, routing, and a first fragment are walked.
  const chain = [hopByHop(1), destination(), routing(), fragment(0, true), destination(2)];
  t.is(answer6(ip6(chain, 6, { ...FROM_HOST6, flags: 0x14 })).out.toString('hex'), answer6Hex(false, 6));
  for (const flags of [0x10, 0x18, 0x11, 0x02]) {
    const other = answer6(ip6([], 6, { ...FROM_HOST6, flags }), true);
    t.is(other.verdict, 'not-watched', `flags ${flags}`);
    t.is(other.out.toString('hex'), UNTOUCHED6);
  }
  // A fragment that is not the first carries no TCP header.
  const later = answer6(ip6([fragment(185, false)], 6, { ...FROM_HOST6, flags: 0x14 }));
  t.is(later.verdict, 'fragment');
  t.is(later.out.toString('hex'), UNTOUCHED6);
  // Past MAX_EXTENSION_HEADERS the chain is not walked further.
  t.is(
    answer6(
      ip6(
        Array.from({ length: 9 }, () => destination()),
        6,
        { ...FROM_HOST6, flags: 0x14 },
      ),
    ).verdict,
    'too-many-extensions',
  );
  // Without --ipv6 the packet is read as IPv4, as the device handle's lanes are.
  t.not(
    answerToRecord(ip6([], 6, { ...FROM_HOST6, flags: 0x14 }), 60, 0, Buffer.alloc(MAX_RECORD_SIZE), 0, { udp: true, ipv6: false }),
    'ok',
  );
});

test('IPv6 answers: an ICMPv6 destination unreachable refuses the quoted contact for codes 0, 1, 3, 4, 5 and 6 only; packet too big never does', (t) => {
  const segment = ip6([], 6, PROBE6);
  for (let code = 0; code <= 255; code++) {
    const r = answer6(icmp6Error(segment, code), true);
    if ([0, 1, 3, 4, 5, 6].includes(code)) {
      t.is(r.verdict, 'ok', `code ${code}`);
      t.is(r.out.toString('hex'), answer6Hex(false, 6), `code ${code}`);
    } else {
      t.is(r.verdict, 'not-watched', `code ${code}`);
      t.is(r.out.toString('hex'), UNTOUCHED6, `code ${code}`);
    }
  }
  // Packet too big (2), time exceeded (3), parameter problem (4), an echo reply (129): nothing.
  for (const type of [2, 3, 4, 129]) {
    for (const code of [0, 3, 4]) {
      const r = answer6(icmp6Error(segment, code, { type }), true);
      t.is(r.verdict, 'not-watched', `type ${type} code ${code}`);
      t.is(r.out.toString('hex'), UNTOUCHED6);
    }
  }
  // A UDP datagram quoted: refused with --udp only.
  const datagram = ip6([], 17, { ...PROBE6, dport: 161, sport: 53000 });
  t.is(answer6(icmp6Error(datagram, 4), true).out.toString('hex'), answer6Hex(false, 17, '00a1' + 'cf08'));
  t.is(answer6(icmp6Error(datagram, 4), false).verdict, 'not-watched');
  // The quoted packet's own extension headers are walked too, and the outer ones.
  const quotedChain = ip6([hopByHop(), fragment(0, true)], 6, PROBE6);
  t.is(answer6(icmp6Error(quotedChain, 3, { exts: [destination(1)] })).out.toString('hex'), answer6Hex(false, 6));
});

test('IPv6 answers: an error not addressed to the quoted source, a cut-off quote or a later fragment gives no record, and nothing throws', (t) => {
  const segment = ip6([], 6, PROBE6);
  // Forged outside and forwarded out through the device to someone else: it says nothing of the contact.
  for (const to of ['2001:db8::3', '2001:db8:5::9', '3001:db8::2']) {
    const r = answer6(icmp6Error(segment, 3, { to }));
    t.is(r.verdict, 'not-watched', to);
    t.is(r.out.toString('hex'), UNTOUCHED6);
  }
  const error = icmp6Error(segment, 3);
  // 40 + 8 + 40 + 4: the quoted ports are the last bytes needed.
  t.is(answer6(error, false, 92).verdict, 'ok');
  const cuts: Array<[number, PacketVerdict]> = [
    [39, 'short'],
    [47, 'short-icmp'],
    [60, 'short-icmp'],
    [87, 'short-icmp'],
    [91, 'short-icmp'],
  ];
  for (const [length, verdict] of cuts) {
    const r = answer6(error, false, length);
    t.is(r.verdict, verdict, `${length} bytes`);
    t.is(r.out.toString('hex'), UNTOUCHED6);
  }
  // A quoted fragment that is not the first has no ports; an outer one has no ICMPv6 header.
  const laterQuoted = answer6(icmp6Error(ip6([fragment(100, false)], 6, PROBE6), 3));
  t.is(laterQuoted.verdict, 'fragment');
  t.is(laterQuoted.out.toString('hex'), UNTOUCHED6);
  t.is(answer6(icmp6Error(segment, 3, { exts: [fragment(8, true)] })).verdict, 'fragment');
  const rng = new Xorshift32(0xa116);
  for (let i = 0; i < 20000; i++) {
    const pkt = rng.bytes(rng.below(160));
    if (pkt.length > 0 && rng.below(2) === 0) pkt[0] = 0x60;
    if (pkt.length > 6 && rng.below(2) === 0) pkt[6] = [0, 6, 44, 58, 60][rng.below(5)] as number;
    if (pkt.length > 40 && rng.below(2) === 0) pkt[40] = 1;
    if (pkt.length > 48 && rng.below(2) === 0) pkt[48] = 0x60;
    t.notThrows(() => answerToRecord(pkt, rng.below(200), 0, Buffer.alloc(MAX_RECORD_SIZE), 0, { udp: true, ipv6: true }));
  }
});
