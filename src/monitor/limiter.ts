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

/** What the report limit held back in one window. */
export interface MergedReports {
  /** Loss and counters reports that made no line of their own. */
  reports: number;
  /** The packets their loss reports said were dropped. */
  lostPackets: number;
}

/**
 * The limit on the lines the capture process's own reports make (loss, and counters
 * with the log byte): at most `perWindow` in a window of `windowMs` from the first, the
 * rest merged into one line when the window closes. The capture process decides when
 * it reports, so without this a compromised one could make the monitor log at the
 * channel's rate; with it, at most `perWindow` + 1 lines per window, what a scan flood
 * gets from the scan limit with the same settings. Fixed windows, not scanlogd's quiet
 * gap: under a steady flood of reports the merged count must still come out.
 */
export class ReportLimiter {
  /** When the open window began, on the monitor's clock, or null when none is open. */
  private start: number | null = null;
  private said = 0;
  private merged: MergedReports = { reports: 0, lostPackets: 0 };

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
  ) {}

  /**
   * A report arrives at `now` (the monitor's monotonic milliseconds: the record's own
   * time is the capture process's word); `lostPackets` for a loss report, else 0.
   * Whether it may make its line.
   */
  admit(now: number, lostPackets: number): boolean {
    if (this.start === null) {
      this.start = now;
      this.said = 0;
    }
    if (this.said < this.perWindow) {
      this.said++;
      return true;
    }
    this.merged.reports++;
    this.merged.lostPackets += lostPackets;
    return false;
  }

  /** Closes the window if it has run out by `now`; what it merged, or null if nothing. Call before admit. */
  close(now: number): MergedReports | null {
    if (this.start === null) return null;
    const age = elapsed(now, this.start);
    return age < this.windowMs && age >= 0 ? null : this.end();
  }

  /** Closes the window now, run out or not (the monitor is stopping); what it merged, or null. */
  end(): MergedReports | null {
    this.start = null;
    if (this.merged.reports === 0) return null;
    const merged = this.merged;
    this.merged = { reports: 0, lostPackets: 0 };
    return merged;
  }
}
