// ChannelWriter against a fake socket: packet records batched into few writes, the
// backlog limit that drops and counts rather than buffers, the loss record that says
// so before what follows, and counters records that never go missing.

import test from 'ava';
import { RECORD_SIZE, decode, encode, type ChannelRecord, type Tcp4Record } from '../../src/shared/record.js';
import { RecordReader } from '../../src/monitor/channel.js';
import { ChannelWriter, COUNTERS_FLUSH_AT, type ChannelSink } from '../../src/capture/channel.js';
import type { KernelDrops } from '../../src/capture/source.js';

/** A socket whose kernel buffer is full while `stalled`: writes then queue in user space. */
class FakeSink implements ChannelSink {
  readonly written: Buffer[] = [];
  queuedBytes = 0;
  stalled = false;

  get writableLength(): number {
    return this.queuedBytes;
  }

  write(chunk: Buffer): boolean {
    // A free socket takes the bytes at once; a stalled one holds the very buffer given
    // (Node queues it), which must then not change until it is sent.
    this.written.push(this.stalled ? chunk : Buffer.from(chunk));
    if (this.stalled) this.queuedBytes += chunk.length;
    return !this.stalled;
  }

  /** The records in the order the monitor would read them, as they read now. */
  records(): ChannelRecord[] {
    const reader = new RecordReader();
    const out: ChannelRecord[] = [];
    for (const chunk of this.written) reader.push(chunk, (r) => out.push({ ...r }));
    return out;
  }
}

const packet = (n: number): Tcp4Record => ({
  type: 'tcp4',
  saddr: 0xc6120000 + n,
  daddr: 0xc6120001,
  sport: 40000,
  dport: n & 0xffff,
  flags: 2,
  tos: 0,
  ttl: 64,
  time: 1000 + n,
});

/** What the capture loop does for an accepted packet: write the record in place, commit. */
function accept(w: ChannelWriter, n: number): void {
  encode(packet(n)).copy(w.buffer, w.offset);
  w.commit();
}

const clock = (): number => 4242;

test('records wait in the batch until it is full or flushed, then go in one write', (t) => {
  const sink = new FakeSink();
  const w = new ChannelWriter(sink, { batchRecords: 4, clock });
  for (let n = 0; n < 3; n++) accept(w, n);
  t.is(sink.written.length, 0);
  accept(w, 3);
  t.is(sink.written.length, 1, 'a full batch is written at once');
  t.is(sink.written[0]!.length, 4 * RECORD_SIZE);
  accept(w, 4);
  w.flush();
  w.flush();
  t.is(sink.written.length, 2, 'an empty flush writes nothing');
  t.deepEqual(sink.records(), [0, 1, 2, 3, 4].map(packet));
});

test('a write the socket queued keeps its bytes: the next batch goes into a new buffer', (t) => {
  const sink = new FakeSink();
  const w = new ChannelWriter(sink, { batchRecords: 2, clock });
  sink.stalled = true;
  const first = w.buffer;
  accept(w, 1);
  accept(w, 2);
  t.not(w.buffer, first, 'the queued write holds a view of the first buffer');
  accept(w, 3);
  accept(w, 4);
  accept(w, 5);
  w.flush();
  t.deepEqual(sink.records(), [1, 2, 3, 4, 5].map(packet));
});

test('over the backlog limit records are dropped and counted; a loss record comes before the next ones', (t) => {
  const sink = new FakeSink();
  const reports: string[] = [];
  const w = new ChannelWriter(sink, { batchRecords: 2, backlogLimit: 3 * RECORD_SIZE, clock, report: (r) => reports.push(r) });
  sink.stalled = true;
  for (let n = 0; n < 4; n++) accept(w, n); // two writes queued: 80 bytes, over the limit
  for (let n = 4; n < 10; n++) accept(w, n); // three batches dropped
  t.is(sink.written.length, 2);
  sink.stalled = false;
  sink.queuedBytes = 0;
  accept(w, 10);
  accept(w, 11);
  t.deepEqual(sink.records(), [...[0, 1, 2, 3].map(packet), { type: 'loss', count: 6, time: 4242 }, packet(10), packet(11)]);
  t.deepEqual(reports, ['monitor fell behind: 6 packets dropped']);
});

test('counters records carry every packet once: accepted, skipped and rejected; dropped ones too', (t) => {
  const sink = new FakeSink();
  const w = new ChannelWriter(sink, { batchRecords: 2, backlogLimit: 0, clock });
  accept(w, 0);
  accept(w, 1); // written: the socket had nothing queued
  w.skip();
  w.reject();
  w.reject();
  sink.stalled = true;
  accept(w, 2);
  accept(w, 3); // written, and queued
  accept(w, 4);
  accept(w, 5); // dropped: over the limit
  w.sendCounters(true);
  w.sendCounters(false);
  const counters = sink.records().filter((r) => r.type === 'counters');
  t.deepEqual(counters, [
    { type: 'counters', packets: 9, dropped: 2, rejected: 2, log: true, time: 4242 },
    { type: 'counters', packets: 0, dropped: 0, rejected: 0, log: false, time: 4242 },
  ]);
  t.true(sink.writableLength > 0, 'the counters record was written over the limit');
});

test('before a count could wrap its uint32 field, a silent counters record goes out', (t) => {
  const sink = new FakeSink();
  const w = new ChannelWriter(sink, { batchRecords: 1, countersFlushAt: 5, clock });
  // Skipped packets cost nothing on the channel; the counts are checked at each flush.
  for (let n = 0; n < 4; n++) w.skip();
  accept(w, 7);
  accept(w, 8);
  const records = sink.written.map((b) => decode(b));
  t.deepEqual(records, [packet(7), { type: 'counters', packets: 5, dropped: 0, rejected: 0, log: false, time: 4242 }, packet(8)]);
});

test('the counts are flushed long before 2^32', (t) => {
  t.true(COUNTERS_FLUSH_AT <= 2 ** 31);
});

test("kernel drops records: each socket's new drops since the last counters record, just before it; the kernel's uint32 wraps", (t) => {
  const sink = new FakeSink();
  let kernel: KernelDrops[] = [
    { socket: 'tcp4', count: 10 },
    { socket: 'udp6', count: 0 },
  ];
  const w = new ChannelWriter(sink, { clock, kernelDrops: () => kernel });
  w.sendCounters(true);
  kernel = [
    { socket: 'tcp4', count: 10 },
    { socket: 'udp6', count: 0xfffffff0 },
  ];
  w.sendCounters(false);
  // udp6's count passes 2^32: 0x20 more, not a negative number or a huge one.
  kernel = [
    { socket: 'tcp4', count: 25 },
    { socket: 'udp6', count: 0x10 },
  ];
  w.sendCounters(true);
  const counters = (log: boolean): ChannelRecord => ({ type: 'counters', packets: 0, dropped: 0, rejected: 0, log, time: 4242 });
  t.deepEqual(
    sink.written.map((b) => decode(b)),
    [
      { type: 'kernelDrops', socket: 'tcp4', count: 10, time: 4242 },
      counters(true),
      { type: 'kernelDrops', socket: 'udp6', count: 0xfffffff0, time: 4242 },
      counters(false),
      { type: 'kernelDrops', socket: 'tcp4', count: 15, time: 4242 },
      { type: 'kernelDrops', socket: 'udp6', count: 0x20, time: 4242 },
      counters(true),
    ],
  );
});
