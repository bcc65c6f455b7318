// The clock detection runs on: CLOCK_MONOTONIC in milliseconds, modulo 2^32, the same
// in both processes, and unaffected by anyone setting the time.

export function monotonicMs(): number {
  return Number((process.hrtime.bigint() / 1000000n) & 0xffffffffn);
}
