// Reassembles records from the stream the capture process writes. The stream has no
// other framing (each record's type says its size), so any stray byte would shift
// every later record: the first record that does not decode ends the monitor, and so
// does a record of a lane the daemon was not started with.

import {
  MAX_RECORD_SIZE,
  Offset,
  RECORD_SIZE,
  RecordError,
  decodeAt,
  emptyPacketScratch,
  recordSize,
  captureSockets,
  type CaptureSocketName,
  type ChannelRecord,
} from '../shared/record.js';

/** The lanes beyond IPv4 TCP whose records the capture process may send. */
export interface Lanes {
  udp: boolean;
  ipv6: boolean;
  /** Whether answers leaving the watched device may come (libpcap with --slow-scans). */
  answers?: boolean;
}

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
   * `sockets` are the capture sockets the capture process holds: a kernel drops record
   * of any other is refused.
   */
  constructor(
    private readonly lanes: Readonly<Lanes> = { udp: false, ipv6: false },
    private readonly sockets: readonly CaptureSocketName[] = captureSockets(lanes, false),
  ) {}

  /**
   * Calls `onRecord` for every complete record in `chunk`, keeping a trailing part
   * for the next chunk. A packet record is the same object from call to call: copy
   * what you keep. Throws a RecordError on a record that does not decode, and lets
   * whatever `onRecord` throws through.
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
      onRecord(this.decode(this.partial, 0));
    }
    while (offset + RECORD_SIZE <= chunk.length) {
      const size = sizeAt(chunk, offset);
      if (offset + size > chunk.length) break;
      onRecord(this.decode(chunk, offset));
      offset += size;
    }
    if (offset < chunk.length) {
      chunk.copy(this.partial, 0, offset);
      this.partialLength = chunk.length - offset;
    }
  }

  private decode(buf: Buffer, offset: number): ChannelRecord {
    const record = decodeAt(buf, offset, this.scratch);
    switch (record.type) {
      case 'tcp4':
        break;
      case 'udp4':
        if (!this.lanes.udp) throw new RecordError('an IPv4 UDP record arrived, but the daemon runs without --udp');
        break;
      case 'ip6':
        if (record.protocol === 'tcp' && !this.lanes.ipv6) {
          throw new RecordError('an IPv6 TCP record arrived, but the daemon runs without --ipv6');
        }
        if (record.protocol === 'udp' && !(this.lanes.ipv6 && this.lanes.udp)) {
          throw new RecordError('an IPv6 UDP record arrived, but the daemon runs without --ipv6 --udp');
        }
        break;
      case 'answer4':
      case 'answer6':
        if (this.lanes.answers !== true) {
          throw new RecordError('an answer record arrived, but the daemon runs without --slow-scans on a device');
        }
        if (record.type === 'answer6' && !this.lanes.ipv6) {
          throw new RecordError('an IPv6 answer record arrived, but the daemon runs without --ipv6');
        }
        if (record.protocol === 'udp' && !this.lanes.udp) {
          throw new RecordError('an answer to a UDP contact arrived, but the daemon runs without --udp');
        }
        break;
      case 'kernelDrops':
        if (!this.sockets.includes(record.socket)) {
          throw new RecordError(
            `a kernel drops record of capture socket ${record.socket} arrived, but the capture process holds no such socket`,
          );
        }
        return record;
      default:
        return record;
    }
    this.received++;
    return record;
  }

  /** Bytes of an incomplete record still waiting for the rest. */
  get pending(): number {
    return this.partialLength;
  }
}
