// The 20-byte record: golden vectors, strict decoding, address text, and fuzzing of
// decode and of the stream reassembly that feeds it.

import test from 'ava';
import {
  COUNTERS_RECORD_TYPE,
  LOSS_RECORD_TYPE,
  RECORD_SIZE,
  RecordError,
  decode,
  decodeAt,
  decodeCountersAt,
  decodeLossAt,
  encode,
  encodeInto,
  encodeCountersInto,
  encodeLossInto,
  formatAddress,
  parseAddress,
  recordTypeAt,
  type PacketRecord,
} from '../../src/shared/record.js';
import { RecordReader } from '../../src/monitor/channel.js';
import { Xorshift32 } from './xorshift.js';

/** Fields in layout order: saddr daddr sport dport flags tos ttl version time. */
const hex = (...fields: string[]): string => fields.join('');

const golden: Array<{ name: string; record: PacketRecord; hex: string }> = [
  {
    name: 'SYN 198.18.0.2:60508 -> 198.18.0.1:22, TTL 64',
    record: { saddr: 0xc6120002, daddr: 0xc6120001, sport: 60508, dport: 22, flags: 0x02, tos: 0, ttl: 64, time: 0x01020304 },
    hex: hex('c6120002', 'c6120001', 'ec5c', '0016', '02', '00', '40', '01', '01020304'),
  },
  {
    name: 'all fields zero',
    record: { saddr: 0, daddr: 0, sport: 0, dport: 0, flags: 0, tos: 0, ttl: 0, time: 0 },
    hex: hex('00000000', '00000000', '0000', '0000', '00', '00', '00', '01', '00000000'),
  },
  {
    name: 'all fields at their maximum',
    record: { saddr: 0xffffffff, daddr: 0xffffffff, sport: 0xffff, dport: 0xffff, flags: 0xff, tos: 0xff, ttl: 0xff, time: 0xffffffff },
    hex: hex('ffffffff', 'ffffffff', 'ffff', 'ffff', 'ff', 'ff', 'ff', '01', 'ffffffff'),
  },
  {
    name: 'SYN|ACK 10.0.0.1:1024 -> 192.168.1.254:65535, TOS b8, time 2^31',
    record: { saddr: 0x0a000001, daddr: 0xc0a801fe, sport: 1024, dport: 65535, flags: 0x12, tos: 0xb8, ttl: 255, time: 0x80000000 },
    hex: hex('0a000001', 'c0a801fe', '0400', 'ffff', '12', 'b8', 'ff', '01', '80000000'),
  },
  {
    name: 'FIN|ECE|CWR 127.0.0.1:80 -> 1.2.3.4:443, TOS 10, TTL 1, time 3000',
    record: { saddr: 0x7f000001, daddr: 0x01020304, sport: 80, dport: 443, flags: 0xc1, tos: 0x10, ttl: 1, time: 3000 },
    hex: hex('7f000001', '01020304', '0050', '01bb', 'c1', '10', '01', '01', '00000bb8'),
  },
];

for (const v of golden) {
  test(`encode golden vector: ${v.name}`, (t) => {
    t.is(v.hex.length, 2 * RECORD_SIZE);
    t.is(encode(v.record).toString('hex'), v.hex);
  });

  test(`decode golden vector: ${v.name}`, (t) => {
    t.deepEqual(decode(Buffer.from(v.hex, 'hex')), v.record);
    t.deepEqual(decode(encode(v.record)), v.record);
  });
}

test('encodeInto writes at an offset and leaves the bytes around it alone', (t) => {
  const v = golden[0]!;
  const out = Buffer.alloc(50, 0xaa);
  encodeInto(v.record, out, 15);
  t.is(out.subarray(15, 35).toString('hex'), v.hex);
  t.true(out.subarray(0, 15).every((b) => b === 0xaa));
  t.true(out.subarray(35).every((b) => b === 0xaa));
  t.deepEqual(decodeAt(out, 15), v.record);
});

test('encodeInto refuses an offset without 20 bytes of room', (t) => {
  const v = golden[0]!;
  for (const [size, offset] of [[19, 0], [20, 1], [40, 21], [20, -1]] as const) {
    const err = t.throws(() => encodeInto(v.record, Buffer.alloc(size), offset), { instanceOf: RecordError });
    t.is(err?.message, `no room for a record at offset ${offset} of ${size} bytes`);
  }
});

test('decodeAt fills a caller-supplied object and rejects a truncated tail', (t) => {
  const v = golden[3]!;
  const into: PacketRecord = { saddr: 9, daddr: 9, sport: 9, dport: 9, flags: 9, tos: 9, ttl: 9, time: 9 };
  const buf = Buffer.concat([Buffer.alloc(3), Buffer.from(v.hex, 'hex')]);
  t.is(decodeAt(buf, 3, into), into);
  t.deepEqual(into, v.record);
  const err = t.throws(() => decodeAt(buf, 4), { instanceOf: RecordError });
  t.is(err?.message, 'truncated record: 19 of 20 bytes');
});

for (const length of [0, 19, 21, 40]) {
  test(`decode rejects a ${length}-byte buffer`, (t) => {
    const buf = Buffer.alloc(length);
    if (length > 15) buf[15] = 1;
    const err = t.throws(() => decode(buf), { instanceOf: RecordError });
    t.is(err?.message, `a record is 20 bytes, not ${length}`);
    t.is(err?.code, 'ERR_SCANLOGD_RECORD');
  });
}

for (const version of [0, 2, 255]) {
  test(`decode rejects version byte ${version}`, (t) => {
    const buf = Buffer.from(golden[0]!.hex, 'hex');
    buf[15] = version;
    const err = t.throws(() => decode(buf), { instanceOf: RecordError });
    t.is(err?.message, `record version ${version} is not 1`);
  });
}

const outOfRange: Array<[keyof PacketRecord, number]> = [
  ['saddr', -1],
  ['saddr', 2 ** 32],
  ['saddr', 1.5],
  ['daddr', 2 ** 32],
  ['daddr', Number.NaN],
  ['sport', 65536],
  ['sport', -1],
  ['dport', 65536],
  ['dport', 22.5],
  ['flags', 256],
  ['tos', 256],
  ['tos', -1],
  ['ttl', 256],
  ['time', 2 ** 32],
  ['time', -1],
  ['time', Number.POSITIVE_INFINITY],
];

for (const [field, value] of outOfRange) {
  test(`encode rejects ${field} = ${value}`, (t) => {
    const record = { ...golden[0]!.record, [field]: value };
    const err = t.throws(() => encode(record), { instanceOf: RecordError });
    t.is(err?.message, `record field ${field} out of range: ${value}`);
  });
}

const addresses: Array<[string, number]> = [
  ['0.0.0.0', 0],
  ['255.255.255.255', 0xffffffff],
  ['198.18.0.2', 0xc6120002],
  ['10.0.0.1', 0x0a000001],
  ['192.168.1.254', 0xc0a801fe],
  ['1.2.3.4', 0x01020304],
  ['128.0.0.0', 0x80000000],
];

for (const [text, value] of addresses) {
  test(`address ${text} <-> 0x${value.toString(16).padStart(8, '0')}`, (t) => {
    t.is(formatAddress(value), text);
    t.is(parseAddress(text), value);
  });
}

test('parseAddress reads leading zeros as decimal, not octal as inet_aton would', (t) => {
  t.is(parseAddress('010.000.000.001'), 0x0a000001);
});

const notAddresses = ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.256', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1.2.3.1000', '::1', '1..2.3', '0x7f.0.0.1', '1.2.3.4\n'];

for (const text of notAddresses) {
  test(`parseAddress rejects ${JSON.stringify(text)}`, (t) => {
    const err = t.throws(() => parseAddress(text), { instanceOf: RecordError });
    t.is(err?.message, `not an IPv4 address: ${text}`);
  });
}

test('fuzz: decode of 100000 random 20-byte buffers throws only RecordError, exactly when the version is not 1', (t) => {
  const rng = new Xorshift32(0x5ca111);
  let decoded = 0;
  let rejected = 0;
  let wrong = '';
  for (let i = 0; i < 100000 && wrong === ''; i++) {
    const buf = rng.bytes(RECORD_SIZE);
    // Make valid records common enough to exercise the accepting path.
    if (rng.below(4) === 0) buf[15] = 1;
    try {
      const r = decode(buf);
      if (buf[15] !== 1) wrong = `accepted version ${String(buf[15])}`;
      else if (encode(r).compare(buf) !== 0) wrong = `round trip changed ${buf.toString('hex')}`;
      decoded++;
    } catch (err) {
      if (!(err instanceof RecordError)) wrong = `threw ${String(err)}`;
      else if (buf[15] === 1) wrong = `rejected ${buf.toString('hex')}`;
      rejected++;
    }
  }
  t.is(wrong, '');
  t.is(decoded + rejected, 100000);
  t.true(decoded > 20000 && rejected > 70000);
});

test('fuzz: decode of random-length buffers throws only RecordError', (t) => {
  const rng = new Xorshift32(77);
  let wrong = '';
  for (let i = 0; i < 20000 && wrong === ''; i++) {
    const buf = rng.bytes(rng.below(45));
    try {
      decode(buf);
      if (buf.length !== RECORD_SIZE) wrong = `accepted ${buf.length} bytes`;
    } catch (err) {
      if (!(err instanceof RecordError)) wrong = `threw ${String(err)}`;
    }
  }
  t.is(wrong, '');
});

/** Splits `stream` at random points, with empty chunks now and then. */
function randomChunks(rng: Xorshift32, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const size = rng.below(8) === 0 ? 0 : rng.between(1, 3 * RECORD_SIZE);
    chunks.push(stream.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

test('fuzz: RecordReader gives back every valid record, in order, whatever the chunking', (t) => {
  const rng = new Xorshift32(2024);
  for (let round = 0; round < 200; round++) {
    const sent: PacketRecord[] = [];
    const count = rng.between(0, 60);
    for (let i = 0; i < count; i++) {
      sent.push({
        saddr: rng.next(),
        daddr: rng.next(),
        sport: rng.below(65536),
        dport: rng.below(65536),
        flags: rng.below(256),
        tos: rng.below(256),
        ttl: rng.below(256),
        time: rng.next(),
      });
    }
    const reader = new RecordReader();
    const got: PacketRecord[] = [];
    for (const chunk of randomChunks(rng, Buffer.concat(sent.map(encode)))) {
      reader.push(chunk, (r) => got.push({ ...r }));
    }
    t.deepEqual(got, sent);
    t.is(reader.received, count);
    t.is(reader.pending, 0);
  }
});

test('fuzz: RecordReader on random bytes throws only RecordError, at the first bad version byte', (t) => {
  const rng = new Xorshift32(31337);
  let wrong = '';
  let failures = 0;
  for (let round = 0; round < 100000 / 50 && wrong === ''; round++) {
    const stream = rng.bytes(rng.between(0, 50 * RECORD_SIZE));
    for (let at = 15; at < stream.length; at += RECORD_SIZE) if (rng.below(8) !== 0) stream[at] = 1;
    let firstBad = -1;
    const complete = Math.floor(stream.length / RECORD_SIZE);
    for (let i = 0; i < complete; i++) {
      if (stream[i * RECORD_SIZE + 15] !== 1) {
        firstBad = i;
        break;
      }
    }
    const reader = new RecordReader();
    let records = 0;
    try {
      for (const chunk of randomChunks(rng, stream)) reader.push(chunk, () => records++);
      if (firstBad !== -1) wrong = `accepted a bad record at index ${firstBad}`;
      else if (records !== complete) wrong = `gave ${records} records`;
      else if (reader.pending !== stream.length % RECORD_SIZE) wrong = `left ${reader.pending} pending`;
    } catch (err) {
      failures++;
      if (!(err instanceof RecordError)) wrong = `threw ${String(err)}`;
      else if (records !== firstBad) wrong = `stopped after ${records} records, first bad is ${firstBad}`;
    }
  }
  t.is(wrong, '');
  t.true(failures > 1000);
});

test('loss record golden vector: count, type 2, time, zeros elsewhere', (t) => {
  const out = Buffer.alloc(20, 0xee);
  encodeLossInto({ count: 0x00012345, time: 0x89abcdef }, out, 0);
  t.is(out.toString('hex'), '00012345' + '00'.repeat(11) + '02' + '89abcdef');
  t.is(recordTypeAt(out, 0), LOSS_RECORD_TYPE);
  t.deepEqual(decodeLossAt(out, 0), { count: 0x12345, time: 0x89abcdef });
});

test('decodeLossAt rejects a packet record, a short buffer and stray bytes', (t) => {
  const packet = encode({ saddr: 1, daddr: 2, sport: 3, dport: 4, flags: 2, tos: 0, ttl: 64, time: 5 });
  t.throws(() => decodeLossAt(packet, 0), { instanceOf: RecordError, message: 'record type 1 is not 2' });
  t.throws(() => decodeLossAt(Buffer.alloc(19), 0), { instanceOf: RecordError });
  for (let i = 4; i < 15; i++) {
    const out = Buffer.alloc(20);
    encodeLossInto({ count: 7, time: 8 }, out, 0);
    out[i] = 0x80;
    t.throws(() => decodeLossAt(out, 0), { instanceOf: RecordError, message: `loss record byte ${i} is not zero` });
  }
});

const countersGolden: Array<{ name: string; record: { packets: number; dropped: number; rejected: number; log: boolean; time: number }; hex: string }> = [
  {
    name: 'a SIGUSR1 request after 1000 packets, 2 rejected',
    record: { packets: 1000, dropped: 0, rejected: 2, log: true, time: 0x01020304 },
    hex: hex('000003e8', '00000000', '00000002', '01', '0000', '03', '01020304'),
  },
  {
    name: 'a silent record that keeps the counts from wrapping',
    record: { packets: 0x40000000, dropped: 0xffffffff, rejected: 0, log: false, time: 0xffffffff },
    hex: hex('40000000', 'ffffffff', '00000000', '00', '0000', '03', 'ffffffff'),
  },
];

for (const v of countersGolden) {
  test(`counters record golden vector: ${v.name}`, (t) => {
    const out = Buffer.alloc(20, 0xee);
    encodeCountersInto(v.record, out, 0);
    t.is(out.toString('hex'), v.hex);
    t.is(recordTypeAt(out, 0), COUNTERS_RECORD_TYPE);
    t.deepEqual(decodeCountersAt(Buffer.from(v.hex, 'hex'), 0), v.record);
  });
}

test('decodeCountersAt rejects other types, a log byte other than 0 or 1, and stray bytes', (t) => {
  const packet = encode({ saddr: 1, daddr: 2, sport: 3, dport: 4, flags: 2, tos: 0, ttl: 64, time: 5 });
  t.throws(() => decodeCountersAt(packet, 0), { instanceOf: RecordError, message: 'record type 1 is not 3' });
  const loss = Buffer.alloc(20);
  encodeLossInto({ count: 1, time: 1 }, loss, 0);
  t.throws(() => decodeCountersAt(loss, 0), { instanceOf: RecordError, message: 'record type 2 is not 3' });
  t.throws(() => decodeCountersAt(Buffer.alloc(19), 0), { instanceOf: RecordError });
  const good = Buffer.from(countersGolden[0]!.hex, 'hex');
  for (const value of [2, 0x80, 0xff]) {
    const out = Buffer.from(good);
    out[12] = value;
    t.throws(() => decodeCountersAt(out, 0), { instanceOf: RecordError, message: `counters record log byte is ${value}, not 0 or 1` });
  }
  for (const i of [13, 14]) {
    const out = Buffer.from(good);
    out[i] = 1;
    t.throws(() => decodeCountersAt(out, 0), { instanceOf: RecordError, message: `counters record byte ${i} is not zero` });
  }
});

test('encodeCountersInto refuses counts that do not fit 32 bits', (t) => {
  const out = Buffer.alloc(20);
  t.throws(() => encodeCountersInto({ packets: 2 ** 32, dropped: 0, rejected: 0, log: true, time: 0 }, out, 0), {
    instanceOf: RecordError,
    message: `record field packets out of range: ${2 ** 32}`,
  });
});

test('the stream reader hands counters records to onCounters and, without it, rejects them', (t) => {
  const stream = Buffer.alloc(60);
  encode({ saddr: 1, daddr: 2, sport: 3, dport: 4, flags: 2, tos: 0, ttl: 64, time: 5 }).copy(stream, 0);
  encodeCountersInto(countersGolden[0]!.record, stream, 20);
  encode({ saddr: 6, daddr: 2, sport: 3, dport: 4, flags: 2, tos: 0, ttl: 64, time: 6 }).copy(stream, 40);
  const reader = new RecordReader();
  const seen: string[] = [];
  reader.onCounters = (c) => seen.push(`counters ${c.packets}`);
  // Split inside the counters record: reassembly must not care about the type.
  reader.push(stream.subarray(0, 27), (r) => seen.push(`packet ${r.saddr}`));
  reader.push(stream.subarray(27), (r) => seen.push(`packet ${r.saddr}`));
  t.deepEqual(seen, ['packet 1', 'counters 1000', 'packet 6']);
  t.is(reader.received, 2);
  const strict = new RecordReader();
  t.throws(() => strict.push(stream, () => undefined), { instanceOf: RecordError, message: 'record version 3 is not 1' });
});
