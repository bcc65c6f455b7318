// RecordReader: records of every type reassembled from a byte stream cut anywhere, and
// the stop at the first record that does not decode.

import test from 'ava';
import { RecordError, encode, type ChannelRecord, type Tcp4Record } from '../../src/shared/record.js';
import { RecordReader } from '../../src/monitor/channel.js';

const record = (n: number): Tcp4Record => ({
  type: 'tcp4',
  saddr: 0xc6120000 + n,
  daddr: 0xc6120001,
  sport: 40000 + n,
  dport: n,
  flags: 0x02,
  tos: 0,
  ttl: 64,
  time: 1000 + n,
});

const stream = (count: number): Buffer => Buffer.concat(Array.from({ length: count }, (_, n) => encode(record(n))));

/** Every record the reader gives, copied (a packet record is one reused object). */
function readAll(reader: RecordReader, chunks: Buffer[]): ChannelRecord[] {
  const got: ChannelRecord[] = [];
  for (const chunk of chunks) reader.push(chunk, (r) => got.push({ ...r }));
  return got;
}

const dports = (records: ChannelRecord[]): Array<number | string> => records.map((r) => (r.type === 'tcp4' ? r.dport : r.type));

test('one byte at a time: each record comes out on its 20th byte', (t) => {
  const reader = new RecordReader();
  const bytes = stream(3);
  const seen: ChannelRecord[] = [];
  for (let i = 0; i < bytes.length; i++) {
    seen.push(...readAll(reader, [bytes.subarray(i, i + 1)]));
    t.is(reader.pending, (i + 1) % 20);
    t.is(seen.length, Math.floor((i + 1) / 20));
  }
  t.deepEqual(dports(seen), [0, 1, 2]);
  t.is(reader.received, 3);
});

test('a chunk that completes one record and holds two more and a part', (t) => {
  const reader = new RecordReader();
  const bytes = stream(5);
  t.deepEqual(readAll(reader, [bytes.subarray(0, 7)]), []);
  t.is(reader.pending, 7);
  t.deepEqual(readAll(reader, [bytes.subarray(7, 75)]), [record(0), record(1), record(2)]);
  t.is(reader.pending, 15);
  t.deepEqual(readAll(reader, [Buffer.alloc(0), bytes.subarray(75)]), [record(3), record(4)]);
  t.is(reader.pending, 0);
});

test('the records before a bad one are delivered, then RecordError', (t) => {
  const reader = new RecordReader();
  const bytes = stream(4);
  bytes[2 * 20 + 15] = 9;
  const got: ChannelRecord[] = [];
  const err = t.throws(() => reader.push(bytes, (r) => got.push({ ...r })), { instanceOf: RecordError });
  t.is(err?.message, 'record type 9 is unknown');
  t.deepEqual(dports(got), [0, 1]);
});

test('a bad record split across chunks is caught when it completes', (t) => {
  const reader = new RecordReader();
  const bytes = stream(2);
  bytes[20 + 15] = 0;
  const got: ChannelRecord[] = [];
  reader.push(bytes.subarray(0, 30), (r) => got.push({ ...r }));
  t.deepEqual(dports(got), [0]);
  t.throws(() => reader.push(bytes.subarray(30), (r) => got.push({ ...r })), {
    instanceOf: RecordError,
    message: 'record type 0 is unknown',
  });
  t.deepEqual(dports(got), [0]);
});

test('loss and counters records between packets come out in stream order; packets around them still decode', (t) => {
  const reader = new RecordReader();
  const bytes = Buffer.concat([
    encode(record(1)),
    encode({ type: 'loss', count: 123456, time: 0xfffffff0 }),
    encode(record(2)),
    encode({ type: 'counters', packets: 1000, dropped: 0, rejected: 2, log: true, time: 7 }),
    encode(record(3)),
  ]);
  // Cut inside the loss report and inside the counters record.
  const got = readAll(reader, [bytes.subarray(0, 27), bytes.subarray(27, 70), bytes.subarray(70)]);
  t.deepEqual(got, [
    record(1),
    { type: 'loss', count: 123456, time: 0xfffffff0 },
    record(2),
    { type: 'counters', packets: 1000, dropped: 0, rejected: 2, log: true, time: 7 },
    record(3),
  ]);
  t.is(reader.received, 3, 'only packet records count as received');
});

test('a loss report with a stray byte is a bad record', (t) => {
  const bad = encode({ type: 'loss', count: 1, time: 2 });
  bad[9] = 1;
  t.throws(() => new RecordReader().push(bad, () => {}), { instanceOf: RecordError, message: 'loss record byte 9 is not zero' });
});

// A record of a lane the daemon was started without is the capture process's fault,
// refused where records are read, before detection sees it.

const udp4 = encode({ type: 'udp4', saddr: 0xc6120002, daddr: 0xc6120001, sport: 53, dport: 7, flags: 0, tos: 0, ttl: 64, time: 1 });
const ip6 = (protocol: 'tcp' | 'udp'): Buffer =>
  encode({
    type: 'ip6',
    protocol,
    saddr: Uint32Array.of(0x20010db8, 0, 0, 2),
    daddr: Uint32Array.of(0x20010db8, 0, 0, 1),
    sport: 40000,
    dport: 22,
    flags: protocol === 'tcp' ? 0x02 : 0,
    tos: 0,
    ttl: 64,
    time: 1,
  });

const answer4 = encode({
  type: 'answer4',
  host: 0xc6130509,
  source: 0xc6120002,
  port: 22,
  sourcePort: 40000,
  protocol: 'tcp',
  accepted: false,
  time: 1,
});
const answer6 = encode({
  type: 'answer6',
  host: Uint32Array.from([0xfd000005, 0, 0, 9]),
  source: Uint32Array.from([0xfd000061, 0, 0, 2]),
  port: 22,
  sourcePort: 40000,
  protocol: 'tcp',
  accepted: false,
  time: 1,
});
const NO_ANSWERS = 'an answer record arrived, but the daemon runs without --slow-scans on a device';
const udpAnswer4 = encode({
  type: 'answer4',
  host: 0xc6130509,
  source: 0xc6120002,
  port: 53,
  sourcePort: 40000,
  protocol: 'udp',
  accepted: false,
  time: 1,
});
const NO_UDP_ANSWERS = 'an answer to a UDP contact arrived, but the daemon runs without --udp';

const laneRefusals: Array<[string, { udp: boolean; ipv6: boolean; answers?: boolean }, Buffer, string | null]> = [
  ['an answer without the second stage on a device', { udp: false, ipv6: false }, answer4, NO_ANSWERS],
  ['an answer with every lane but answers', { udp: true, ipv6: true, answers: false }, answer4, NO_ANSWERS],
  ['an answer with the second stage on a device', { udp: false, ipv6: false, answers: true }, answer4, null],
  ['an answer to a UDP contact on a device without --udp', { udp: false, ipv6: false, answers: true }, udpAnswer4, NO_UDP_ANSWERS],
  ['an answer to a UDP contact on a device with --udp', { udp: true, ipv6: false, answers: true }, udpAnswer4, null],
  ['an IPv6 answer without the second stage on a device', { udp: true, ipv6: true }, answer6, NO_ANSWERS],
  ['an IPv6 answer with every lane but answers', { udp: true, ipv6: true, answers: false }, answer6, NO_ANSWERS],
  [
    'an IPv6 answer on a device without --ipv6',
    { udp: true, ipv6: false, answers: true },
    answer6,
    'an IPv6 answer record arrived, but the daemon runs without --ipv6',
  ],
  ['an IPv6 answer with the second stage on a device and --ipv6', { udp: false, ipv6: true, answers: true }, answer6, null],
  ['IPv4 UDP without --udp', { udp: false, ipv6: false }, udp4, 'an IPv4 UDP record arrived, but the daemon runs without --udp'],
  ['IPv4 UDP with --udp', { udp: true, ipv6: false }, udp4, null],
  ['IPv6 TCP without --ipv6', { udp: false, ipv6: false }, ip6('tcp'), 'an IPv6 TCP record arrived, but the daemon runs without --ipv6'],
  ['IPv6 TCP with --ipv6', { udp: false, ipv6: true }, ip6('tcp'), null],
  [
    'IPv6 UDP with --ipv6 alone',
    { udp: false, ipv6: true },
    ip6('udp'),
    'an IPv6 UDP record arrived, but the daemon runs without --ipv6 --udp',
  ],
  [
    'IPv6 UDP with --udp alone',
    { udp: true, ipv6: false },
    ip6('udp'),
    'an IPv6 UDP record arrived, but the daemon runs without --ipv6 --udp',
  ],
  ['IPv6 UDP with both', { udp: true, ipv6: true }, ip6('udp'), null],
];

for (const [name, lanes, bytes, refusal] of laneRefusals) {
  test(`lanes: ${name} is ${refusal === null ? 'read' : 'refused'}`, (t) => {
    const reader = new RecordReader(lanes);
    const got: ChannelRecord[] = [];
    if (refusal === null) {
      reader.push(bytes, (r) => got.push(r));
      t.is(got.length, 1);
      t.is(reader.received, 1);
    } else {
      t.throws(() => reader.push(bytes, (r) => got.push(r)), { instanceOf: RecordError, message: refusal });
      t.is(got.length, 0);
    }
  });
}
