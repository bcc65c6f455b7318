// Reassembles 20-byte records from the stream the capture process writes. The stream
// has no other framing, so any stray byte would shift every later record: the first
// record that does not decode ends the monitor.

import { RECORD_SIZE, decodeAt, emptyPacketRecord, type ChannelRecord } from '../shared/record.js';

export class RecordReader {
  private readonly partial = Buffer.alloc(RECORD_SIZE);
  private partialLength = 0;
  /** Every packet record is decoded into this one object. */
  private readonly packet = emptyPacketRecord();
  /** Packet records received. */
  received = 0;

  /**
   * Calls `onRecord` for every complete record in `chunk`, keeping a trailing part
   * for the next chunk. A packet record is the same object from call to call: copy
   * what you keep. Throws a RecordError on a record that does not decode.
   */
  push(chunk: Buffer, onRecord: (r: ChannelRecord) => void): void {
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

  private dispatch(buf: Buffer, offset: number, onRecord: (r: ChannelRecord) => void): void {
    const record = decodeAt(buf, offset, this.packet);
    if (record.type === 'packet') this.received++;
    onRecord(record);
  }

  /** Bytes of an incomplete record still waiting for the rest. */
  get pending(): number {
    return this.partialLength;
  }
}
