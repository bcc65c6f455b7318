// Reassembles records from the stream the capture process writes. The stream has no
// other framing (each record's type says its size), so any stray byte would shift
// every later record: the first record that does not decode ends the monitor.

import {
  MAX_RECORD_SIZE,
  Offset,
  RECORD_SIZE,
  RecordError,
  decodeAt,
  emptyPacketScratch,
  recordSize,
  type ChannelRecord,
} from '../shared/record.js';

/** The size of the record whose head starts at `offset`; throws for an unknown type. */
function sizeAt(buf: Buffer, offset: number): number {
  const type = buf[offset + Offset.type] as number;
  const size = recordSize(type);
  if (size === 0) throw new RecordError(`record type ${type} is unknown`);
  return size;
}

export class RecordReader {
  private readonly partial = Buffer.alloc(MAX_RECORD_SIZE);
  private partialLength = 0;
  /** Every packet record is decoded into one of these objects. */
  private readonly scratch = emptyPacketScratch();
  /** Packet records received (any family or protocol). */
  received = 0;

  /**
   * Calls `onRecord` for every complete record in `chunk`, keeping a trailing part
   * for the next chunk. A packet record is the same object from call to call: copy
   * what you keep. Throws a RecordError on a record that does not decode.
   */
  push(chunk: Buffer, onRecord: (r: ChannelRecord) => void): void {
    let offset = 0;
    // A split record is completed in two steps: its head, which says its size, then the rest.
    while (this.partialLength > 0 && offset < chunk.length) {
      const want = this.partialLength < RECORD_SIZE ? RECORD_SIZE : sizeAt(this.partial, 0);
      const take = Math.min(want - this.partialLength, chunk.length - offset);
      chunk.copy(this.partial, this.partialLength, offset, offset + take);
      this.partialLength += take;
      offset += take;
      if (this.partialLength === RECORD_SIZE && sizeAt(this.partial, 0) > RECORD_SIZE) continue;
      if (this.partialLength < want) return;
      this.partialLength = 0;
      this.dispatch(this.partial, 0, onRecord);
    }
    while (offset + RECORD_SIZE <= chunk.length) {
      const size = sizeAt(chunk, offset);
      if (offset + size > chunk.length) break;
      this.dispatch(chunk, offset, onRecord);
      offset += size;
    }
    if (offset < chunk.length) {
      chunk.copy(this.partial, 0, offset);
      this.partialLength = chunk.length - offset;
    }
  }

  private dispatch(buf: Buffer, offset: number, onRecord: (r: ChannelRecord) => void): void {
    const record = decodeAt(buf, offset, this.scratch);
    if (record.type === 'tcp4' || record.type === 'udp4' || record.type === 'ip6') this.received++;
    onRecord(record);
  }

  /** Bytes of an incomplete record still waiting for the rest. */
  get pending(): number {
    return this.partialLength;
  }
}
