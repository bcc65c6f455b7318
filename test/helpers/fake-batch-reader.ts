// The half every fake capture reader shares (start and close of native/batch.c's
// contract): it records its calls, and the test plays the kernel through `started()`.

import type { PacketSource } from '../../src/capture/source.js';
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

/**
 * Starts `source`, whose reader is `fake`, ignoring its packets; the reader then fails
 * twice with `message`. Returns the messages that reached the error callback: a source
 * ends capture at its first error, so it says one.
 */
export function errorsAfterTwoFailures(source: PacketSource, fake: { started(): Started }, message: string): string[] {
  const errors: string[] = [];
  source.start(
    () => undefined,
    () => undefined,
    (err) => errors.push(err.message),
  );
  fake.started().onError(message);
  fake.started().onError(message);
  return errors;
}
