// The half every fake capture reader shares (start and close of native/batch.c's
// contract): it records its calls, and the test plays the kernel through `started()`.

import type { BatchReader } from '../../src/types/batch.js';

export interface Started {
  buffer: Buffer;
  slotSize: number;
  lengths: Uint32Array;
  onBatch: (count: number) => void;
  onError: (message: string) => void;
}

/** start() and close() for `handle`, recording "start true" / "close true" (whether it was that handle) in `calls`. */
export function fakeBatchReader<Handle>(handle: Handle, calls: string[]): BatchReader<Handle> & { started(): Started } {
  let started: Started | null = null;
  return {
    start(h, buffer, slotSize, lengths, onBatch, onError) {
      calls.push(`start ${h === handle}`);
      started = { buffer, slotSize, lengths, onBatch, onError };
    },
    close(h) {
      calls.push(`close ${h === handle}`);
    },
    started() {
      if (started === null) throw new Error('not started');
      return started;
    },
  };
}
