// The capture end of the channel: packet records batched into few writes, a backlog
// limit past which records are dropped and counted rather than buffered (a stopped
// monitor must not make the capture process grow), and the loss, counters and kernel
// drops records that tell the monitor what it did not see.

import { monotonicMs } from '../shared/clock.js';
import { MAX_RECORD_SIZE, Offset, RECORD_SIZE, encode, recordSize, type CaptureSocketName } from '../shared/record.js';
import type { KernelDrops } from './source.js';

/** Records written per flush at most; flushes also happen whenever the socket drains. */
export const BATCH_RECORDS = 2048;
/** Bytes the channel may hold unsent before records are dropped instead. */
export const CHANNEL_BACKLOG_LIMIT = 4 * 1024 * 1024;
/** Counts since the last counters record; a record is sent before any could wrap. */
export const COUNTERS_FLUSH_AT = 0x40000000;

/** The stream the records go to: the socketpair end, or a fake in tests. */
export interface ChannelSink {
  readonly writableLength: number;
  write(chunk: Buffer): boolean;
}

export interface ChannelWriterOptions {
  batchRecords?: number;
  backlogLimit?: number;
  countersFlushAt?: number;
  clock?: () => number;
  /** Told when records had to be dropped, once per loss record. */
  report?: (text: string) => void;
  /** What the kernel dropped on each capture socket so far (PacketSource.kernelDrops). */
  kernelDrops?: () => readonly KernelDrops[];
}

/**
 * Each packet goes through exactly one of `commit` (its record, written at `offset` of
 * `buffer`, is to be sent), `skip` (ignored by configuration) or `reject` (failed the
 * header checks); `flush` sends what is batched.
 */
export class ChannelWriter {
  /**
   * Where the next packet record is to be written: `offset` bytes into `buffer`, which
   * always has room for the largest record there.
   */
  buffer: Buffer;
  offset = 0;
  /** Records in the batch. */
  private records = 0;
  /** Records dropped since the last loss record. */
  private lost = 0;
  // Since the last counters record.
  private seen = 0;
  private rejected = 0;
  private dropped = 0;
  private readonly batchBytes: number;
  private readonly backlogLimit: number;
  private readonly countersFlushAt: number;
  private readonly clock: () => number;
  private readonly report: (text: string) => void;
  private readonly kernelDrops: () => readonly KernelDrops[];
  /** Each socket's kernel count as of its last kernel drops record. */
  private readonly kernelDropsSent = new Map<CaptureSocketName, number>();

  constructor(
    private readonly sink: ChannelSink,
    options: ChannelWriterOptions = {},
  ) {
    this.batchBytes = (options.batchRecords ?? BATCH_RECORDS) * RECORD_SIZE + MAX_RECORD_SIZE - RECORD_SIZE;
    this.backlogLimit = options.backlogLimit ?? CHANNEL_BACKLOG_LIMIT;
    this.countersFlushAt = options.countersFlushAt ?? COUNTERS_FLUSH_AT;
    this.clock = options.clock ?? monotonicMs;
    this.report = options.report ?? (() => {});
    this.kernelDrops = options.kernelDrops ?? (() => []);
    this.buffer = Buffer.allocUnsafe(this.batchBytes);
  }

  /** Sends the record written at `offset`, whose type byte says its size. */
  commit(): void {
    this.seen++;
    this.records++;
    this.offset += recordSize(this.buffer[this.offset + Offset.type] as number);
    if (this.offset + MAX_RECORD_SIZE > this.batchBytes) this.flush();
  }

  skip(): void {
    this.seen++;
  }

  reject(): void {
    this.seen++;
    this.rejected++;
  }

  /** Sends the batched records, or drops and counts them while the backlog is over the limit. */
  flush(): void {
    if (this.offset === 0) return;
    const records = this.records;
    this.records = 0;
    if (this.sink.writableLength > this.backlogLimit) {
      this.lost += records;
      this.dropped += records;
    } else {
      if (this.lost > 0) {
        // Said before what follows, so the monitor (and syslog) learn where the gap is.
        this.sink.write(encode({ type: 'loss', count: Math.min(this.lost, 0xffffffff), time: this.clock() }));
        this.report(`monitor fell behind: ${this.lost} packets dropped`);
        this.lost = 0;
      }
      if (this.sink.writableLength === 0) {
        // Nothing queued: the kernel normally takes the bytes at once, so a view of the
        // batch costs no allocation (a copy per flush, freed only at the next
        // scavenge, makes resident memory climb under a flood). A write that had to be
        // queued keeps the view, and with it this batch buffer: take a new one.
        this.sink.write(this.buffer.subarray(0, this.offset));
        if (this.sink.writableLength !== 0) this.buffer = Buffer.allocUnsafe(this.batchBytes);
      } else {
        // Behind a queued write, a copy of just the filled part: a view would pin a
        // whole batch buffer per write, and the backlog limit counts only filled bytes.
        this.sink.write(Buffer.from(this.buffer.subarray(0, this.offset)));
      }
    }
    this.offset = 0;
    if (this.seen >= this.countersFlushAt || this.dropped >= this.countersFlushAt) this.sendCounters(false);
  }

  /**
   * Hands the counts to the monitor, which logs them (with its own) when `log` is set:
   * first what each capture socket's kernel dropped since the last time, then the
   * capture process's own. Small and rare: sent even over the backlog limit, so that a
   * request is never lost.
   */
  sendCounters(log: boolean): void {
    const time = this.clock();
    for (const { socket, count } of this.kernelDrops()) {
      // The kernel's count is a uint32 that wraps: the difference modulo 2^32 is what is new.
      const fresh = (count - (this.kernelDropsSent.get(socket) ?? 0)) >>> 0;
      this.kernelDropsSent.set(socket, count);
      if (fresh > 0) this.sink.write(encode({ type: 'kernelDrops', socket, count: fresh, time }));
    }
    const cap = (n: number): number => Math.min(n, 0xffffffff);
    this.sink.write(
      encode({
        type: 'counters',
        packets: cap(this.seen),
        dropped: cap(this.dropped),
        rejected: cap(this.rejected),
        log,
        time,
      }),
    );
    this.seen = 0;
    this.rejected = 0;
    this.dropped = 0;
  }
}
