// The capture seam: what every capture backend (raw socket, libpcap) offers the
// capture loop. Opened as root before the privilege drop, started after it. Both
// backends read through one of the project's batch readers; batchSource is the part of
// their adapters that is the same.

import type { BatchReader } from '../types/batch.js';
import type { PcapCounts } from '../types/pcaprecv.js';
import type { CaptureSocketName } from '../shared/record.js';

/** Packets a backend reads at most in one batch (one system call, one call into JS). */
export const BATCH_SLOTS = 256;

/** What the kernel says it did with the packets for a capture handle (libpcap's pcap_stats). */
export type CaptureCounts = PcapCounts;

export type OnPacket = (pkt: Buffer, length: number) => void;

/** Packets the kernel dropped on one capture socket since it was opened: a uint32 that wraps. */
export interface KernelDrops {
  socket: CaptureSocketName;
  count: number;
}

export interface PacketSource {
  /**
   * Calls `onPacket` for each packet with a buffer that is reused for the next one,
   * then `onDrained` once the socket has nothing more for now. `onError` ends capture.
   */
  start(onPacket: OnPacket, onDrained: () => void, onError: (err: Error) => void): void;
  /**
   * Where the device's outbound answers come from (libpcap with --slow-scans): the same
   * contract as start, for packets that only the second stage reads.
   */
  startAnswers?(onAnswer: OnPacket, onDrained: () => void, onError: (err: Error) => void): void;
  close(): void;
  /** What the kernel dropped on each capture socket, as far as it has said; none once closed. */
  kernelDrops(): KernelDrops[];
  /** The kernel's counts since the handle was opened (libpcap only); throws once closed. */
  counts?(): CaptureCounts;
  /** What the kernel passed and dropped, said at a clean stop as tcpdump does (libpcap only). */
  statsLine?(): string;
}

/** One batch reader's buffer: BATCH_SLOTS slots of `slotSize` bytes, and their lengths. */
export interface BatchBuffers {
  data: Buffer;
  lengths: Uint32Array;
  slotSize: number;
}

export function batchBuffers(slotSize: number): BatchBuffers {
  return { data: Buffer.alloc(BATCH_SLOTS * slotSize), lengths: new Uint32Array(BATCH_SLOTS), slotSize };
}

export interface BatchSourceNames {
  /** Names the source in errors: "raw socket", "libpcap on eth0". */
  label: string;
  /** What start() on a used one is: "socket", "handle". */
  noun: string;
  /** The error that ends capture, from the reader's message. */
  failure(message: string): string;
}

/**
 * A PacketSource over one open handle of a batch reader: started once, at most one
 * error, nothing delivered after close() (also when a packet's handler closes it
 * mid-batch), closed once. `deliver` hands the packet in slot `slot`, `length` bytes,
 * to `onPacket`, or skips it.
 */
export function batchSource<Handle>(
  reader: BatchReader<Handle>,
  handle: Handle,
  buffers: BatchBuffers,
  names: BatchSourceNames,
  deliver: (slot: number, length: number, onPacket: OnPacket) => void,
): Pick<PacketSource, 'start' | 'close'> & { readonly closed: boolean } {
  let state: 'opened' | 'running' | 'closed' = 'opened';
  let failed = false;
  return {
    get closed() {
      return state === 'closed';
    },
    start(onPacket, onDrained, onError) {
      if (state !== 'opened') throw new Error(`${names.label}: start() on a ${state} ${names.noun}`);
      state = 'running';
      const { lengths } = buffers;
      reader.start(
        handle,
        buffers.data,
        buffers.slotSize,
        lengths,
        (count) => {
          if (count === 0) {
            if (state === 'running') onDrained();
            return;
          }
          for (let i = 0; i < count && state === 'running'; i++) deliver(i, lengths[i] as number, onPacket);
        },
        (message) => {
          if (state !== 'running' || failed) return;
          failed = true;
          onError(new Error(names.failure(message)));
        },
      );
    },
    close() {
      if (state === 'closed') return;
      state = 'closed';
      reader.close(handle);
    },
  };
}
