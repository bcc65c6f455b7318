// RecordReader: records reassembled from a byte stream cut anywhere, and the stop at
// the first record that does not decode.

import test from 'ava';
import { RecordError, encode, encodeLossInto, type PacketRecord } from '../../src/shared/record.js';
import { RecordReader } from '../../src/monitor/channel.js';

const record = (n: number): PacketRecord => ({
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

function readAll(reader: RecordReader, chunks: Buffer[]): PacketRecord[] {
  const got: PacketRecord[] = [];
  for (const chunk of chunks) reader.push(chunk, (r) => got.push({ ...r }));
  return got;
}

test('one byte at a time: each record comes out on its 20th byte', (t) => {
  const reader = new RecordReader();
  const bytes = stream(3);
  const seen: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    reader.push(bytes.subarray(i, i + 1), (r) => seen.push(r.dport));
    t.is(reader.pending, (i + 1) % 20);
    t.is(seen.length, Math.floor((i + 1) / 20));
  }
  t.deepEqual(seen, [0, 1, 2]);
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
  bytes[2 * 20 + 15] = 2;
  const got: number[] = [];
  const err = t.throws(() => reader.push(bytes, (r) => got.push(r.dport)), { instanceOf: RecordError });
  t.is(err?.message, 'record version 2 is not 1');
  t.deepEqual(got, [0, 1]);
});

test('a bad record split across chunks is caught when it completes', (t) => {
  const reader = new RecordReader();
  const bytes = stream(2);
  bytes[20 + 15] = 0;
  const got: number[] = [];
  reader.push(bytes.subarray(0, 30), (r) => got.push(r.dport));
  t.deepEqual(got, [0]);
  t.throws(() => reader.push(bytes.subarray(30), (r) => got.push(r.dport)), { instanceOf: RecordError, message: 'record version 0 is not 1' });
  t.deepEqual(got, [0]);
});

test('a loss report between packets reaches onLoss; packets around it still decode', (t) => {
  const reader = new RecordReader();
  const losses: Array<{ count: number; time: number }> = [];
  reader.onLoss = (loss) => losses.push(loss);
  const report = Buffer.alloc(20);
  encodeLossInto({ count: 123456, time: 0xfffffff0 }, report, 0);
  const bytes = Buffer.concat([encode(record(1)), report, encode(record(2))]);
  // Cut inside the loss report, too.
  const got = readAll(reader, [bytes.subarray(0, 27), bytes.subarray(27)]);
  t.deepEqual(got.map((r) => r.dport), [1, 2]);
  t.deepEqual(losses, [{ count: 123456, time: 0xfffffff0 }]);
  t.is(reader.received, 2);
});

test('a loss report with a stray byte is a bad record, and so is any report without a listener', (t) => {
  const report = Buffer.alloc(20);
  encodeLossInto({ count: 1, time: 2 }, report, 0);
  const bad = Buffer.from(report);
  bad[9] = 1;
  const listening = new RecordReader();
  listening.onLoss = () => {};
  t.throws(() => listening.push(bad, () => {}), { instanceOf: RecordError, message: 'loss record byte 9 is not zero' });
  t.throws(() => new RecordReader().push(report, () => {}), { instanceOf: RecordError, message: 'record version 2 is not 1' });
});
