// The log flood limit of scanlogd 2.2.8's safe_log(): a burst of scans is logged up to
// a count, then announced once, then silenced until a quiet gap. Its decisions say when
// a flood starts and ends, with how many lines it held back.

import { elapsed } from '../shared/clock.js';
import type { SuppressedEvent, SyslogVerdict } from '../shared/events.js';

export const FLOOD_MESSAGE = 'More possible port scans follow';
/** The same for the second stage's lines, which have a limiter of their own. */
export const SLOW_FLOOD_MESSAGE = 'More possible slow scans and sweeps follow';

/** What became of one scan's line, and the flood event the decision makes, if any. */
export interface FloodDecision {
  verdict: SyslogVerdict;
  /** A flood starts with this scan's notice, or the scan, logged again, ends one. */
  flood: SuppressedEvent | null;
}

export class FloodLimiter {
  private last = 0;
  private count = 0;
  /** Scans not logged in the flood under way (the one the notice replaced included); -1 outside one. */
  private held = -1;

  constructor(
    private readonly logCount: number,
    private readonly logDelayMs: number,
  ) {}

  /**
   * `now` is the monotonic millisecond time (uint32) of the packet that made the scan,
   * `wallMs` the same moment on the wall clock, for the flood events.
   */
  decide(now: number, wallMs: number): FloodDecision {
    if (this.quietAt(now)) this.count = 0;
    this.count++;
    // The window is measured from the last scan that was logged or announced, so a
    // steady stream of scans cannot keep the limiter closed by itself being counted.
    if (this.count <= this.logCount + 1) this.last = now;
    if (this.count <= this.logCount) return { verdict: 'logged', flood: this.endFlood(wallMs) };
    if (this.count === this.logCount + 1) {
      this.held = 1;
      return { verdict: 'flood-notice', flood: { event: 'suppressed', time: wallMs, state: 'start' } };
    }
    this.held++;
    return { verdict: 'suppressed', flood: null };
  }

  /** The end of a flood that is quiet by `now`, although no scan came to show it; null otherwise. */
  sweep(now: number, wallMs: number): SuppressedEvent | null {
    return this.held >= 0 && this.quietAt(now) ? this.endFlood(wallMs) : null;
  }

  /** Whether the gap from the window's last scan to `now` re-opens logging. */
  private quietAt(now: number): boolean {
    const gap = elapsed(now, this.last);
    return gap > this.logDelayMs || gap < 0;
  }

  private endFlood(wallMs: number): SuppressedEvent | null {
    if (this.held < 0) return null;
    const dropped = this.held;
    this.held = -1;
    return { event: 'suppressed', time: wallMs, state: 'end', dropped };
  }
}
