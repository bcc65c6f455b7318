// packetToRecord, the capture side's only look at packet bytes: scanlogd's sanity
// checks on hand-built IPv4+TCP packets, the record it writes, and a fuzz.

import test from 'ava';
import { CAPTURE_SNAPLEN, packetToRecord, type PacketVerdict } from '../../src/capture/packet.js';
import { decode, RECORD_SIZE, type PacketRecord } from '../../src/shared/record.js';
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
  const { verdict, out } = convert(ipTcp({ tos: 0xb8, ttl: 255, flags: 0xff, sport: 1, dport: 65535, saddr: '10.0.0.1', daddr: '192.168.1.254' }), 40, 0xffffffff);
  t.is(verdict, 'ok');
  t.is(out.toString('hex'), ['0a000001', 'c0a801fe', '0001', 'ffff', 'ff', 'b8', 'ff', '01', 'ffffffff'].join(''));
});

test('the record goes at the offset asked for, and nowhere else', (t) => {
  const out = Buffer.alloc(60, 0xee);
  t.is(packetToRecord(ipTcp(), 40, 7, out, 20), 'ok');
  t.is(out.subarray(0, 20).toString('hex'), UNTOUCHED);
  t.is(out.subarray(40).toString('hex'), UNTOUCHED);
  t.deepEqual(decode(out.subarray(20, 40)), {
    type: 'packet',
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
  ['UDP', ipTcp({ protocol: 17 }), 40, 'not-tcp'],
  ['ICMP', ipTcp({ protocol: 1 }), 40, 'not-tcp'],
  ['a 20-byte UDP header only', ipTcp({ protocol: 17 }).subarray(0, 20), 20, 'not-tcp'],
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
    if (verdict === 'ok') t.is((decode(result.out) as PacketRecord).dport, 22);
    else t.is(result.out.toString('hex'), UNTOUCHED);
  });
}

/** scanlogd's checks, written independently: which verdict a packet deserves. */
function expectedVerdict(pkt: Buffer, length: number): PacketVerdict {
  const size = Math.min(length, pkt.length);
  if (size < 20) return 'short';
  const ihl = (pkt[0]! & 15) * 4;
  if (ihl < 20) return 'bad-ihl';
  if (pkt[9] !== 6) return 'not-tcp';
  if (((pkt[6]! << 8) | pkt[7]!) & 0x1fff) return 'fragment';
  if (ihl + 20 > size) return 'short-tcp';
  return 'ok';
}

test('fuzz: 100000 random buffers and lengths never throw and get the right verdict', (t) => {
  const rng = new Xorshift32(0xcafe);
  const counts: Record<PacketVerdict, number> = { ok: 0, short: 0, 'bad-ihl': 0, 'not-tcp': 0, fragment: 0, 'short-tcp': 0 };
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
    counts[verdict]++;
    const expected = expectedVerdict(pkt, length);
    if (verdict !== expected) {
      wrong = `${verdict} instead of ${expected} for ${pkt.toString('hex')} length ${length}`;
    } else if (verdict === 'ok') {
      const ihl = (pkt[0]! & 15) * 4;
      const r = decode(out) as PacketRecord;
      const fields = [r.saddr, r.daddr, r.sport, r.dport, r.flags, r.tos, r.ttl, r.time];
      const bytes = [pkt.readUInt32BE(12), pkt.readUInt32BE(16), pkt.readUInt16BE(ihl), pkt.readUInt16BE(ihl + 2), pkt[ihl + 13], pkt[1], pkt[8], time];
      if (fields.join() !== bytes.join()) wrong = `record ${out.toString('hex')} from ${pkt.toString('hex')}`;
    }
  }
  t.is(wrong, '');
  // Every path was taken many times.
  for (const [verdict, n] of Object.entries(counts)) t.true(n > 1000, `${verdict}: ${n}`);
});
