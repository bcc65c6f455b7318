// The API of the capture process's libpcap reader (native/pcaprecv.c, built into
// build/Release/pcaprecv.node where libpcap-dev is installed); src/capture/pcap.ts is
// the one place that loads it, and only with --interface.

import type { BatchReader } from './batch.js';

/** An open libpcap handle, owned by the addon; closing it is close()'s job, never the GC's. */
export interface PcapHandle {
  readonly __pcaprecvHandle: unique symbol;
}

/** pcap_stats(3): counts since the handle was opened. */
export interface PcapCounts {
  /** Packets the kernel filter passed. */
  received: number;
  /** Packets the kernel dropped for want of room in the ring. */
  droppedByKernel: number;
  /** Packets the device or its driver dropped, where it says so. */
  droppedByInterface: number;
}

/** Frames are given from their link header on; start() and close() as every batch reader's. */
export interface PcapRecv extends BatchReader<PcapHandle> {
  /**
   * Opens `device` (as root): snap length, promiscuous mode only if asked, the ring's
   * size, immediate mode, activation, non-blocking, then `filter` compiled and
   * attached in the kernel. Throws libpcap's own words.
   */
  open(device: string, filter: string, snapLength: number, bufferBytes: number, promiscuous: boolean): PcapHandle;
  /** pcap_datalink(3): the link type's DLT_ number. */
  linkType(handle: PcapHandle): number;
  stats(handle: PcapHandle): PcapCounts;
}
