// The monitor's path from a packet record to log lines and events, without I/O:
// detection, the flood limit, the followed scans and the text of each line. Fed with
// the clocks of the moment, it is deterministic to the byte.

import { elapsed } from '../shared/clock.js';
import type { DetectorParams } from '../shared/params.js';
import type { PacketSummary } from '../shared/record.js';
import { Detector } from './engine.js';
import type { CountersEvent, MonitorEvent } from './events.js';
import { scanMessage } from './format.js';
import { FLOOD_MESSAGE, FloodLimiter } from './limiter.js';
import { ScanTracker } from './tracker.js';

export class ScanPipeline {
  readonly detector: Detector;
  readonly limiter: FloodLimiter;
  /** Present only when structured events are wanted. */
  readonly tracker: ScanTracker | null;
  linesLogged = 0;
  scansLogged = 0;
  /** Scans whose line was not logged: the one the flood notice replaced, and those after it. */
  scansSuppressed = 0;
  /** Events of the scan being decided, held until its line is out. */
  private readonly held: MonitorEvent[] = [];
  private holding = false;

  constructor(
    readonly params: Readonly<DetectorParams>,
    private readonly emit: (message: string) => void,
    private readonly events: ((event: MonitorEvent) => void) | null = null,
  ) {
    const deliver = events === null ? null : (event: MonitorEvent): void => this.deliver(event);
    this.tracker = deliver === null ? null : new ScanTracker(params, deliver);
    this.detector = new Detector(params, this.tracker);
    this.limiter = new FloodLimiter(params.logCount, params.logDelayMs, deliver);
  }

  /**
   * `monoNow` and `wallNowMs` are read when the records of a batch arrive; the
   * record's own capture time places the packet on the wall clock.
   */
  feed(record: PacketSummary, monoNow: number, wallNowMs: number): void {
    // A record stamped after the monitor's clock (the other process read it later) is
    // placed at the monitor's time rather than in the future.
    const wallMs = wallNowMs - Math.max(0, elapsed(monoNow, record.time));
    const scan = this.detector.process(record, wallMs);
    if (scan === null) return;
    // A scan's line goes out before its events (and the flood's), so that a reader of
    // syslog sees the classic line first.
    this.holding = true;
    const verdict = this.limiter.decide(scan.time, wallMs);
    this.tracker?.detected(scan, record, verdict, wallMs);
    this.holding = false;
    switch (verdict) {
      case 'logged':
        this.linesLogged++;
        this.scansLogged++;
        this.emit(scanMessage(scan, this.params.logMaxLength));
        break;
      case 'flood-notice':
        this.linesLogged++;
        this.scansSuppressed++;
        this.emit(FLOOD_MESSAGE);
        break;
      case 'suppressed':
        this.scansSuppressed++;
        break;
    }
    for (const event of this.held) this.events?.(event);
    this.held.length = 0;
  }

  private deliver(event: MonitorEvent): void {
    if (this.holding) this.held.push(event);
    else this.events?.(event);
  }

  /**
   * Ends what went quiet by `monoNow` although no packet arrived to show it: followed
   * scans past the delay, and a flood window past the log delay.
   */
  sweep(monoNow: number, wallNowMs: number): void {
    this.tracker?.sweep(monoNow, wallNowMs);
    this.limiter.sweep(monoNow, wallNowMs);
  }
}

/** What the capture process reported in its counters records, summed. */
export interface CaptureCounts {
  packets: number;
  dropped: number;
  rejected: number;
}

/** What the monitor's own outputs count, where they are on. */
export interface OutputCounts {
  /** --json: lines written and dropped. */
  json: { written: number; dropped: number } | null;
  /** --json-syslog: events the syslog queue had to drop. */
  syslogEventsDropped: number | null;
}

/** The counters, by name, in the order the line gives them. */
export function counterFields(pipeline: ScanPipeline, received: number, capture: CaptureCounts, outputs: OutputCounts): Array<[string, number]> {
  const c = pipeline.detector.counters;
  const fields: Array<[string, number]> = [
    ['packets_seen', capture.packets],
    ['packets_rejected', capture.rejected],
    ['records_received', received],
    ['records_dropped_by_capture', capture.dropped],
    ['scans_detected', c.scans],
    ['scans_logged', pipeline.scansLogged],
    ['scans_suppressed', pipeline.scansSuppressed],
    ['table_reuses', c.slotReuses],
    ['bucket_evictions', c.bucketEvictions],
  ];
  if (outputs.json !== null) fields.push(['json_lines_written', outputs.json.written], ['json_lines_dropped', outputs.json.dropped]);
  if (outputs.syslogEventsDropped !== null) fields.push(['syslog_events_dropped', outputs.syslogEventsDropped]);
  return fields;
}

/** The counters line (logged at daemon.info on SIGUSR1 and every --stats-interval). */
export function countersMessage(fields: Array<[string, number]>): string {
  return `counters: ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

/** The same figures as a structured event. */
export function countersEvent(fields: Array<[string, number]>, wallMs: number): CountersEvent {
  return { event: 'counters', time: wallMs, ...Object.fromEntries(fields) };
}
