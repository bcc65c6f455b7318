// Reassembles 20-byte records from the stream the capture process writes. The
// stream has no other framing, so any stray byte would shift every later record:
// the first invalid record ends the monitor.

import {
  COUNTERS_RECORD_TYPE,
  LOSS_RECORD_TYPE,
  RECORD_SIZE,
  decodeAt,
  decodeCountersAt,
  decodeLossAt,
  recordTypeAt,
  type CountersRecord,
  type LossRecord,
  type PacketRecord,
} from '../shared/record.js';

export class RecordReader {
  private readonly partial = Buffer.alloc(RECORD_SIZE);
  private partialLength = 0;
  private readonly record: PacketRecord = { saddr: 0, daddr: 0, sport: 0, dport: 0, flags: 0, tos: 0, ttl: 0, time: 0 };
  received = 0;
  /** Called for each loss report; without it a loss record is as invalid as any other. */
  onLoss: ((loss: LossRecord) => void) | null = null;
  /** Called for each counters record; without it such a record is invalid too. */
  onCounters: ((counters: CountersRecord) => void) | null = null;

  /**
   * Calls `onRecord` for every complete record in `chunk`, keeping a trailing part
   * for the next chunk. The record object is reused between calls. Throws a
   * RecordError on a record that does not decode.
   */
  push(chunk: Buffer, onRecord: (r: PacketRecord) => void): void {
    let offset = 0;
    if (this.partialLength > 0) {
      const take = Math.min(RECORD_SIZE - this.partialLength, chunk.length);
      chunk.copy(this.partial, this.partialLength, 0, take);
      this.partialLength += take;
      offset = take;
      if (this.partialLength < RECORD_SIZE) return;
      this.partialLength = 0;
      this.dispatch(this.partial, 0, onRecord);
    }
    while (offset + RECORD_SIZE <= chunk.length) {
      this.dispatch(chunk, offset, onRecord);
      offset += RECORD_SIZE;
    }
    if (offset < chunk.length) {
      chunk.copy(this.partial, 0, offset);
      this.partialLength = chunk.length - offset;
    }
  }

  private dispatch(buf: Buffer, offset: number, onRecord: (r: PacketRecord) => void): void {
    const type = recordTypeAt(buf, offset);
    if (type === LOSS_RECORD_TYPE && this.onLoss !== null) {
      this.onLoss(decodeLossAt(buf, offset));
      return;
    }
    if (type === COUNTERS_RECORD_TYPE && this.onCounters !== null) {
      this.onCounters(decodeCountersAt(buf, offset));
      return;
    }
    this.received++;
    onRecord(decodeAt(buf, offset, this.record));
  }

  /** Bytes of an incomplete record still waiting for the rest. */
  get pending(): number {
    return this.partialLength;
  }
}
