// The API of the project's own raw-socket reader (native/rawrecv.c, built into
// build/Release/rawrecv.node); src/capture/rawsocket.ts is the one place that loads it.

import type { BatchReader } from './batch.js';

/** An open raw socket, owned by the addon; closing it is close()'s job, never the GC's. */
export interface CaptureHandle {
  readonly __rawrecvHandle: unique symbol;
}

export interface RawRecv extends BatchReader<CaptureHandle> {
  /**
   * Opens a SOCK_RAW socket (non-blocking, close-on-exec) with this receive queue size:
   * AF_INET (family 4, the default) or AF_INET6 (6), IPPROTO_TCP (6, the default) or
   * IPPROTO_UDP (17). An AF_INET6 socket's packets start with a 40-byte IPv6 header the
   * addon builds from the address and ancillary data.
   */
  open(receiveBufferBytes: number, family?: 4 | 6, protocol?: 6 | 17): CaptureHandle;
  /**
   * Packets the kernel dropped on the socket since it was opened (SO_RXQ_OVFL), as of
   * the last packet read: a uint32 that wraps. Drops after that packet show with the next.
   */
  drops(handle: CaptureHandle): number;
}
