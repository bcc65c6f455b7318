// What the project's two capture readers (native/rawrecv.c, native/pcaprecv.c) share:
// reading one open handle in batches (native/batch.c).

export interface BatchReader<Handle> {
  /**
   * Starts reading: onBatch(n) for n > 0 packets at `buffer[i * slotSize]`, `lengths[i]`
   * bytes each (at most slotSize); onBatch(0) once nothing more is waiting for now;
   * onError once if reading fails, after which nothing more is read. At most
   * `lengths.length` (1 to 1024) packets a batch.
   */
  start(
    handle: Handle,
    buffer: Buffer,
    slotSize: number,
    lengths: Uint32Array,
    onBatch: (count: number) => void,
    onError: (message: string) => void,
  ): void;
  /** Stops reading and closes the handle's descriptor; calling it again does nothing. */
  close(handle: Handle): void;
}
