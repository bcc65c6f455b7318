// The log flood limit of scanlogd 2.2.8's safe_log(): a burst of scans is logged up to
// a count, then announced once, then silenced until a quiet gap.

import { elapsed } from './engine.js';

export type LimiterVerdict = 'log' | 'announce-flood' | 'suppress';

export class FloodLimiter {
  private last = 0;
  private count = 0;
  /** Scans not logged since the limiter last announced a flood. */
  suppressed = 0;

  /** True from the flood notice until a scan after a quiet gap (or `quietAt` says so). */
  get flooding(): boolean {
    return this.count > this.logCount;
  }

  /** Whether at monotonic time `now` the gap since the window's last scan re-opens logging. */
  quietAt(now: number): boolean {
    const gap = elapsed(now, this.last);
    return gap > this.logDelayMs || gap < 0;
  }

  constructor(
    private readonly logCount: number,
    private readonly logDelayMs: number,
  ) {}

  /** `now` is the monotonic millisecond time (uint32) of the packet that made the scan. */
  decide(now: number): LimiterVerdict {
    const gap = elapsed(now, this.last);
    if (gap > this.logDelayMs || gap < 0) this.count = 0;
    this.count++;
    // The window is measured from the last scan that was logged or announced, so a
    // steady stream of scans cannot keep the limiter closed by itself being counted.
    if (this.count <= this.logCount + 1) this.last = now;
    if (this.count <= this.logCount) return 'log';
    if (this.count === this.logCount + 1) {
      this.suppressed = 0;
      return 'announce-flood';
    }
    this.suppressed++;
    return 'suppress';
  }
}

export const FLOOD_MESSAGE = 'More possible port scans follow';
