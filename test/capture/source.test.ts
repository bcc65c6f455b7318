// batchSource, the part both capture backends share: each slot of a batch handed on
// with its length, the drained signal, one error at most, and nothing after close().

import test from 'ava';
import { BATCH_SLOTS, batchBuffers, batchSource, type OnPacket } from '../../src/capture/source.js';
import { fakeBatchReader } from '../helpers/fake-batch-reader.js';

const HANDLE = { fd: 7 };
const NAMES = { label: 'test source', noun: 'handle', failure: (message: string) => `test source: ${message}` };

/** A source over a fake reader whose deliver hands on each slot's first byte and length. */
function setUp(slotSize = 16): { source: ReturnType<typeof batchSource>; fake: ReturnType<typeof fakeBatchReader>; calls: string[] } {
  const calls: string[] = [];
  const fake = fakeBatchReader(HANDLE, calls);
  const buffers = batchBuffers(slotSize);
  const deliver = (slot: number, length: number, onPacket: OnPacket): void =>
    onPacket(buffers.data.subarray(slot * slotSize, slot * slotSize + length), length);
  return { source: batchSource(fake, HANDLE, buffers, NAMES, deliver), fake, calls };
}

test('batchBuffers: BATCH_SLOTS slots of the size asked for, and a length for each', (t) => {
  const b = batchBuffers(80);
  t.is(b.data.length, BATCH_SLOTS * 80);
  t.is(b.lengths.length, BATCH_SLOTS);
  t.is(b.slotSize, 80);
});

test('each packet of a batch in slot order with its length, then drained when the reader says nothing waits', (t) => {
  const { source, fake, calls } = setUp();
  const seen: string[] = [];
  source.start(
    (pkt, length) => seen.push(`${pkt[0]}/${length}`),
    () => seen.push('drained'),
    () => seen.push('error'),
  );
  t.deepEqual(calls, ['start true']);
  const s = fake.started();
  t.is(s.slotSize, 16);
  for (let i = 0; i < 3; i++) {
    s.buffer[i * 16] = 100 + i;
    s.lengths[i] = 10 + i;
  }
  s.lengths[3] = 15; // past the batch's count: not delivered
  s.onBatch(2);
  s.onBatch(3);
  s.onBatch(0);
  t.deepEqual(seen, ['100/10', '101/11', '100/10', '101/11', '102/12', 'drained']);
});

test('started once: start() again, or after close(), is refused with the source named', (t) => {
  const ignore = (): void => undefined;
  const { source } = setUp();
  source.start(ignore, ignore, ignore);
  t.throws(() => source.start(ignore, ignore, ignore), { message: 'test source: start() on a running handle' });
  const closed = setUp();
  closed.source.close();
  t.throws(() => closed.source.start(ignore, ignore, ignore), { message: 'test source: start() on a closed handle' });
  t.deepEqual(closed.calls, ['close true']);
});

test('one error at most, as an Error from the reader message; none once closed', (t) => {
  const { source, fake } = setUp();
  const errors: string[] = [];
  source.start(
    () => undefined,
    () => undefined,
    (err) => errors.push(err.message),
  );
  fake.started().onError('first');
  fake.started().onError('second');
  t.deepEqual(errors, ['test source: first']);

  const other = setUp();
  const late: string[] = [];
  other.source.start(
    () => undefined,
    () => undefined,
    (err) => late.push(err.message),
  );
  other.source.close();
  other.fake.started().onError('after close');
  t.deepEqual(late, []);
});

test('a handler that closes the source mid-batch gets nothing more, and no drained; close() closes the handle once', (t) => {
  const { source, fake, calls } = setUp();
  const seen: number[] = [];
  let drained = 0;
  source.start(
    (_pkt, length) => {
      seen.push(length);
      if (seen.length === 2) source.close();
    },
    () => drained++,
    () => undefined,
  );
  const s = fake.started();
  s.lengths.set([1, 2, 3, 4]);
  s.onBatch(4);
  s.onBatch(4);
  s.onBatch(0);
  t.deepEqual(seen, [1, 2]);
  t.is(drained, 0);
  t.true(source.closed);
  source.close();
  t.deepEqual(calls, ['start true', 'close true']);
});
