// The monitor's work on each chunk of the channel: records out of the stream, each to
// the pipeline or the counters, and what they make the monitor say to its outputs.
// It tells the two ways this can stop apart: a record the monitor refuses is the
// capture process's fault; anything else that throws is the monitor's own.

import { messageOf } from '../shared/errors.js';
import { EXIT_INTERNAL_FAULT, EXIT_REFUSED_RECORD } from '../shared/exits.js';
import {
  RecordError,
  type CaptureSocketName,
  type ChannelRecord,
  type CountersRecord,
  type KernelDropsRecord,
  type LossRecord,
} from '../shared/record.js';
import type { RecordReader } from './channel.js';
import {
  NO_OUTPUTS,
  counterFields,
  countersEvent,
  countersMessage,
  fieldsText,
  type CaptureCounts,
  type Output,
  type OutputCounts,
  type ScanPipeline,
} from './pipeline.js';
import { DAEMON_INFO } from '../shared/logging.js';
import { ReportLimiter, type MergedReports } from './limiter.js';

/** Where the records' outputs go (MonitorOutputs, or a test's fake). */
export interface OutputSink {
  route(outputs: readonly Output[]): void;
  /** A fault of the daemon worth an operator's attention, that does not stop it. */
  fault(text: string): void;
  counts(): OutputCounts;
}

/** Why the monitor must stop, in one line, and the exit status that says whose fault it is. */
export interface Stop {
  status: number;
  why: string;
  /** For an internal fault: where it happened. */
  stack: string | null;
}

/** A fault of the monitor itself (a bug), from anything thrown. */
export function internalFault(err: unknown): Stop {
  return {
    status: EXIT_INTERNAL_FAULT,
    why: `internal fault: ${messageOf(err)}`,
    stack: err instanceof Error ? (err.stack ?? null) : null,
  };
}

export class RecordLoop {
  /** What the capture process reported in its counters and kernel drops records. */
  readonly capture: CaptureCounts;
  // The clocks of the chunk being read, and whether a record is past the reader.
  private monoNow = 0;
  private wallNow = 0;
  private taking = false;
  /** What is done with each record the reader gives: one function for the life of the loop. */
  private readonly onRecord = (record: ChannelRecord): void => {
    this.taking = true;
    // Packet records first: scanlogd's own (tcp4) is told apart by one comparison.
    const outputs =
      record.type === 'tcp4' || record.type === 'udp4' || record.type === 'ip6'
        ? this.pipeline.handle(record, this.monoNow, this.wallNow)
        : record.type === 'answer4' || record.type === 'answer6'
          ? this.pipeline.answer(record, this.monoNow, this.wallNow)
          : this.report(record);
    if (outputs.length !== 0) this.outputs.route(outputs);
    this.taking = false;
  };

  /** The capture process's reports get the scan lines' limit, as a limit of their own. */
  private readonly reports: ReportLimiter;

  constructor(
    private readonly reader: RecordReader,
    private readonly pipeline: ScanPipeline,
    private readonly outputs: OutputSink,
    /** The capture sockets the capture process holds (captureSockets). */
    sockets: readonly CaptureSocketName[] = ['tcp4'],
  ) {
    this.capture = { packets: 0, dropped: 0, rejected: 0, kernelDrops: new Map(sockets.map((socket) => [socket, 0])) };
    this.reports = new ReportLimiter(pipeline.params.logCount, pipeline.params.logDelayMs);
  }

  /**
   * Takes every record `chunk` completes, read at `monoNow` (monotonic) and `wallNow`
   * (wall clock), and routes what each makes the monitor say. Returns why the monitor
   * must stop, or null to go on.
   */
  push(chunk: Buffer, monoNow: number, wallNow: number): Stop | null {
    this.monoNow = monoNow;
    this.wallNow = wallNow;
    this.taking = false;
    try {
      this.reader.push(chunk, this.onRecord);
      return null;
    } catch (err) {
      // Only the reader refuses records; a RecordError from past it is a bug of ours too.
      if (this.taking || !(err instanceof RecordError)) return internalFault(err);
      return { status: EXIT_REFUSED_RECORD, why: `bad record from the capture process: ${err.message}`, stack: null };
    }
  }

  /** What the capture process's own reports make the monitor say, within their limit. */
  private report(record: LossRecord | CountersRecord | KernelDropsRecord): readonly Output[] {
    this.closeReportWindow(this.monoNow);
    if (record.type === 'loss') {
      if (this.reports.admit(this.monoNow, record.count))
        this.outputs.fault(`capture process dropped ${record.count} packets while the monitor was not reading`);
      return NO_OUTPUTS;
    }
    if (record.type === 'kernelDrops') {
      // Added up, never a line of its own: the reader refused the record of a socket the
      // capture process does not hold.
      this.capture.kernelDrops.set(record.socket, (this.capture.kernelDrops.get(record.socket) ?? 0) + record.count);
      return NO_OUTPUTS;
    }
    // Counted whether or not the request makes a line: the next counters line has it.
    this.capture.packets += record.packets;
    this.capture.dropped += record.dropped;
    this.capture.rejected += record.rejected;
    return record.log && this.reports.admit(this.monoNow, 0) ? this.counters(this.wallNow) : NO_OUTPUTS;
  }

  /**
   * Whether a SIGHUP the capture process passed on (by a signal, not a record) may make
   * its line at `monoNow`: it is that process's report too, so a compromised one that
   * signals in a loop gets no more lines than its records would.
   */
  admitRelayedSighup(monoNow: number): boolean {
    this.closeReportWindow(monoNow);
    return this.reports.admit(monoNow, 0);
  }

  /**
   * Says what the report limit merged once its window has run out by `monoNow`; the
   * record loop looks before each report, runMonitor's timer when none comes.
   */
  closeReportWindow(monoNow: number): void {
    this.sayMerged(this.reports.close(monoNow));
  }

  /** At a stop: what the report limit merged so far is said before the monitor goes. */
  endReportWindow(): void {
    this.sayMerged(this.reports.end());
  }

  private sayMerged(merged: MergedReports | null): void {
    if (merged !== null) this.outputs.fault(mergedReportsMessage(merged, this.pipeline.params.logCount, this.pipeline.params.logDelayMs));
  }

  /** The counters line (daemon.info) and its event, as they stand at `wallMs`. */
  counters(wallMs: number): readonly Output[] {
    const fields = this.fields();
    return [
      { kind: 'line', priority: DAEMON_INFO, text: countersMessage(fields) },
      { kind: 'event', event: countersEvent(fields, wallMs) },
    ];
  }

  /** The counters as they stand, as "name=value" words: the totals of the stop line. */
  totals(): string {
    return fieldsText(this.fields());
  }

  private fields(): Array<[string, number]> {
    return counterFields(this.pipeline, this.reader.received, this.capture, this.outputs.counts());
  }
}

export function mergedReportsMessage(merged: MergedReports, perWindow: number, windowMs: number): string {
  return (
    `${merged.reports} more loss, counters and SIGHUP reports from the capture process merged (at most ${perWindow} lines in ${windowMs / 1000} s): ` +
    `${merged.lostPackets} packets dropped while the monitor was not reading`
  );
}
