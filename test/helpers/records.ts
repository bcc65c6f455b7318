// Reading a chunk of the channel's stream the way the monitor does: load it, then take
// records until the reader asks for more bytes.

import type { RecordReader } from '../../src/monitor/channel.js';
import type { ChannelRecord } from '../../src/shared/record.js';

/** Hands every record `chunk` completes to `onRecord`; throws the reader's RecordError. */
export function pushChunk(reader: RecordReader, chunk: Buffer, onRecord: (record: ChannelRecord) => void): void {
  reader.load(chunk);
  for (let record = reader.next(); record !== null; record = reader.next()) onRecord(record);
}
