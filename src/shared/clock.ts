// The clock detection runs on: CLOCK_MONOTONIC in milliseconds, modulo 2^32, the same
// in both processes, and unaffected by anyone setting the time. Every comparison of two
// such times goes through `elapsed`, so that the wrap at 2^32 is handled in one place.

export function monotonicMs(): number {
  return Number((process.hrtime.bigint() / 1000000n) & 0xffffffffn);
}

/**
 * Signed milliseconds from `earlier` to `later` on the uint32 clock: correct across the
 * wrap for times less than 2^31 ms (24.8 days) apart; negative when `later` is earlier.
 */
export function elapsed(later: number, earlier: number): number {
  return (later - earlier) | 0;
}

/**
 * Both clocks, read together when a batch of records arrived: `mono` on this clock,
 * `wall` in wall-clock milliseconds. The per-packet path passes them as this one object:
 * a double passed to a function V8 does not inline is boxed anew on every call.
 */
export interface Clocks {
  mono: number;
  wall: number;
}

/**
 * The wall-clock time of something stamped `time` on this clock, given both clocks read
 * together. A stamp after `clocks.mono` (the other process read it later) is placed at
 * `clocks.wall` rather than in the future.
 */
export function wallClockAt(time: number, clocks: Readonly<Clocks>): number {
  return clocks.wall - Math.max(0, elapsed(clocks.mono, time));
}
