// The log flood limit of scanlogd 2.2.8's safe_log(): a burst of scans is logged up to
// a count, then announced once, then silenced until a quiet gap. It says itself when a
// flood starts and ends, with how many lines it held back.

import { elapsed } from '../shared/clock.js';
import type { SuppressedEvent, SyslogVerdict } from '../shared/events.js';

export const FLOOD_MESSAGE = 'More possible port scans follow';

export class FloodLimiter {
  private last = 0;
  private count = 0;
  /** Scans not logged in the flood under way (the one the notice replaced included); -1 outside one. */
  private held = -1;

  constructor(
    private readonly logCount: number,
    private readonly logDelayMs: number,
    /** Told of each flood's start and end; times are the wall-clock milliseconds given. */
    private readonly onFlood: ((event: SuppressedEvent) => void) | null = null,
  ) {}

  /**
   * `now` is the monotonic millisecond time (uint32) of the packet that made the scan,
   * `wallMs` the same moment on the wall clock, for the flood events.
   */
  decide(now: number, wallMs: number): SyslogVerdict {
    if (this.quietAt(now)) this.count = 0;
    this.count++;
    // The window is measured from the last scan that was logged or announced, so a
    // steady stream of scans cannot keep the limiter closed by itself being counted.
    if (this.count <= this.logCount + 1) this.last = now;
    if (this.count <= this.logCount) {
      this.endFlood(wallMs);
      return 'logged';
    }
    if (this.count === this.logCount + 1) {
      this.held = 1;
      this.onFlood?.({ event: 'suppressed', time: wallMs, state: 'start' });
      return 'flood-notice';
    }
    this.held++;
    return 'suppressed';
  }

  /** Ends a flood that is quiet by `now`, although no scan came to show it. */
  sweep(now: number, wallMs: number): void {
    if (this.held >= 0 && this.quietAt(now)) this.endFlood(wallMs);
  }

  /** Whether the gap from the window's last scan to `now` re-opens logging. */
  private quietAt(now: number): boolean {
    const gap = elapsed(now, this.last);
    return gap > this.logDelayMs || gap < 0;
  }

  private endFlood(wallMs: number): void {
    if (this.held < 0) return;
    const dropped = this.held;
    this.held = -1;
    this.onFlood?.({ event: 'suppressed', time: wallMs, state: 'end', dropped });
  }
}
