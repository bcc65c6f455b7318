// The monitor process: started unprivileged by the capture process, it reads records
// from the channel on fd 3, detects scans, applies the flood limit and writes to syslog.

import fs = require('node:fs');
import net = require('node:net');
import { describe } from '../shared/errors.js';
import { SYSLOG_FAULT_PRIORITY, SYSLOG_INFO_PRIORITY, type DetectorParams } from '../shared/params.js';
import type { CountersRecord, PacketRecord } from '../shared/record.js';
import type { Settings } from '../shared/options.js';
import { monotonicMs } from '../shared/clock.js';
import { MONITOR_JSON_FD, closeInheritedFds } from '../shared/fds.js';
import { Detector } from './engine.js';
import { FLOOD_MESSAGE, FloodLimiter } from './limiter.js';
import { RecordReader } from './channel.js';
import { scanMessage, syslogDatagram } from './format.js';
import { SyslogWriter } from './syslog.js';
import { ScanTracker, type SyslogVerdict, type TrackerEvent } from './tracker.js';
import { JsonOutput, eventLine } from './jsonout.js';

/** The channel from the capture process, as placed by the spawn. */
export const CHANNEL_FD = 3;
/** Bytes read from the channel at once: 3276 records. */
const CHANNEL_READ_BYTES = 64 * 1024;
/** Where the monitor of a background daemon reports that it runs. */
export const MONITOR_STATUS_FD = 4;
/** How often followed scans and the flood window are checked for having gone quiet. */
const SWEEP_INTERVAL_MS = 250;

const verdictName: Record<'log' | 'announce-flood' | 'suppress', SyslogVerdict> = {
  log: 'logged',
  'announce-flood': 'flood-notice',
  suppress: 'suppressed',
};

/**
 * Detection, flood limit and message text, without I/O: feed records with the clocks
 * of the moment; each line to log comes out through `emit`.
 */
export class ScanPipeline {
  readonly detector: Detector;
  readonly limiter: FloodLimiter;
  /** Present only when structured events are wanted. */
  readonly tracker: ScanTracker | null = null;
  linesLogged = 0;
  scansLogged = 0;
  scansSuppressed = 0;
  /** A 'suppressed' start event went out and its end has not yet. */
  private floodOpen = false;

  constructor(
    readonly params: Readonly<DetectorParams>,
    private readonly emit: (message: string) => void,
    private readonly events: ((event: TrackerEvent) => void) | null = null,
  ) {
    this.detector = new Detector(params);
    this.limiter = new FloodLimiter(params.logCount, params.logDelayMs);
    if (events !== null) {
      this.tracker = new ScanTracker(params, events);
      this.detector.observer = this.tracker;
    }
  }

  /**
   * `monoNow` and `wallNowMs` are read when the records of a batch arrive; the
   * record's own capture time places the packet on the wall clock.
   */
  feed(record: PacketRecord, monoNow: number, wallNowMs: number): void {
    const lag = (monoNow - record.time) >>> 0;
    const wallMs = wallNowMs - (lag < 0x80000000 ? lag : 0);
    const tracker = this.tracker;
    if (tracker !== null) tracker.wallMs = wallMs;
    const scan = this.detector.process(record, Math.floor(wallMs / 1000));
    if (scan === null) return;
    const verdict = this.limiter.decide(scan.time);
    if (tracker !== null) {
      if (this.floodOpen && verdict === 'log') this.endFlood(wallMs);
      if (verdict === 'announce-flood') {
        this.floodOpen = true;
        this.events?.({ event: 'suppressed', time: wallMs, state: 'start' });
      }
      tracker.detected(scan, record, verdictName[verdict]);
    }
    switch (verdict) {
      case 'log':
        this.linesLogged++;
        this.scansLogged++;
        this.emit(scanMessage(scan, this.params.logMaxLength));
        break;
      case 'announce-flood':
        this.linesLogged++;
        this.emit(FLOOD_MESSAGE);
        break;
      case 'suppress':
        this.scansSuppressed++;
        break;
    }
  }

  /**
   * Ends what went quiet by `monoNow` although no packet arrived to show it: followed
   * scans past the delay, and a flood window past the log delay.
   */
  sweep(monoNow: number, wallNowMs: number): void {
    this.tracker?.sweep(monoNow, wallNowMs);
    if (this.floodOpen && this.limiter.quietAt(monoNow)) this.endFlood(wallNowMs);
  }

  private endFlood(wallMs: number): void {
    this.floodOpen = false;
    // The scan whose line gave way to the flood notice was not logged either.
    this.events?.({
      event: 'suppressed',
      time: wallMs,
      state: 'end',
      dropped: this.limiter.suppressed + 1,
    });
  }
}

/** What the capture process reported in its counters records, summed. */
export interface CaptureCounts {
  packets: number;
  dropped: number;
  rejected: number;
}

/** The counters line (logged at daemon.info on SIGUSR1 and every --stats-interval). */
export function countersMessage(pipeline: ScanPipeline, received: number, capture: CaptureCounts, json: JsonOutput | null): string {
  const c = pipeline.detector.counters;
  const fields: Array<[string, number]> = [
    ['packets_seen', capture.packets],
    ['packets_rejected', capture.rejected],
    ['records_received', received],
    ['records_dropped_by_capture', capture.dropped],
    ['scans_detected', c.scans],
    ['scans_logged', pipeline.scansLogged],
    ['scans_suppressed', c.scans - pipeline.scansLogged],
    ['table_reuses', c.slotReuses],
    ['bucket_evictions', c.bucketEvictions],
  ];
  if (json !== null) fields.push(['json_lines_written', json.written], ['json_lines_dropped', json.dropped]);
  return `counters: ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

export function runMonitor(settings: Settings): void {
  // Without a listener Node answers SIGUSR1 by opening its inspector: take the signal first.
  let onCountersRequest = (): void => {};
  process.on('SIGUSR1', () => onCountersRequest());
  const keep = [CHANNEL_FD];
  if (settings.statusFd !== null) keep.push(settings.statusFd);
  if (settings.json !== null) keep.push(MONITOR_JSON_FD);
  closeInheritedFds(keep);
  const stderr = (text: string): void => {
    process.stderr.write(`scanlogd monitor: ${text}\n`);
  };
  const syslog = new SyslogWriter(settings.syslogSocket, { notice: stderr });
  const log = (message: string): void => {
    syslog.send(syslogDatagram(message, new Date()));
    if (settings.stderr) process.stderr.write(`${message}\n`);
  };
  let json: JsonOutput | null = null;
  if (settings.json !== null) {
    const target = settings.json === '-' ? 'standard output' : settings.json;
    const fault = (text: string): void => {
      stderr(text);
      syslog.send(syslogDatagram(text, new Date(), SYSLOG_FAULT_PRIORITY));
    };
    json = new JsonOutput(MONITOR_JSON_FD, {
      failing: (why) => fault(`JSON output to ${target} failed (${why}); dropping lines until it works again`),
      recovered: (dropped) => fault(`JSON output to ${target} works again; ${dropped} lines were dropped`),
    });
  }
  const jsonOut = json;
  const pipeline = new ScanPipeline(
    settings.params,
    log,
    jsonOut === null ? null : (event) => jsonOut.write(eventLine(event)),
  );
  const reader = new RecordReader();
  const capture: CaptureCounts = { packets: 0, dropped: 0, rejected: 0 };
  const logCounters = (): void => {
    const text = countersMessage(pipeline, reader.received, capture, jsonOut);
    syslog.send(syslogDatagram(text, new Date(), SYSLOG_INFO_PRIORITY));
    if (settings.stderr) process.stderr.write(`${text}\n`);
  };
  reader.onLoss = (loss) => {
    const text = `capture process dropped ${loss.count} packets while the monitor was not reading`;
    stderr(text);
    syslog.send(syslogDatagram(text, new Date(), SYSLOG_FAULT_PRIORITY));
  };
  reader.onCounters = (counts: CountersRecord) => {
    capture.packets += counts.packets;
    capture.dropped += counts.dropped;
    capture.rejected += counts.rejected;
    if (counts.log) logCounters();
  };
  // Sent to the monitor directly, the capture counts are those of its last report.
  onCountersRequest = logCounters;
  if (jsonOut !== null) {
    setInterval(() => pipeline.sweep(monotonicMs(), Date.now()), SWEEP_INTERVAL_MS);
  }

  let ending = false;
  const finish = (code: number, why: string | null): void => {
    if (ending) return;
    ending = true;
    if (why !== null) {
      stderr(why);
      syslog.send(syslogDatagram(why, new Date(), SYSLOG_FAULT_PRIORITY));
    }
    if (code === 0 && settings.pidfile !== null) removePidfile(settings.pidfile, stderr);
    // Give queued lines a short chance to reach syslog, then go.
    const deadline = Date.now() + 500;
    const tryExit = (): void => {
      if ((syslog.queued === 0 && (jsonOut === null || jsonOut.pending === 0)) || Date.now() >= deadline) {
        if (syslog.queued > 0) stderr(`${syslog.queued} lines not delivered to ${settings.syslogSocket}`);
        syslog.close();
        process.exit(code);
      }
      setTimeout(tryExit, 20);
    };
    tryExit();
  };

  // Every read lands in this one buffer (the reader copies a split record out), so a
  // flood costs no allocation per read.
  const readBuffer = Buffer.alloc(CHANNEL_READ_BYTES);
  const onread = {
    buffer: readBuffer,
    callback: (length: number): boolean => {
      if (ending) return false;
      const monoNow = monotonicMs();
      const wallNow = Date.now();
      try {
        reader.push(readBuffer.subarray(0, length), (record) => pipeline.feed(record, monoNow, wallNow));
      } catch (err) {
        channel.destroy();
        finish(1, `bad record from the capture process: ${describe(err)}`);
        return false;
      }
      return true;
    },
  };
  // onread is accepted by the constructor, though @types/node lists it only for connect().
  const channel = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: false, onread } as net.SocketConstructorOpts);
  channel.on('end', () => finish(1, 'capture process closed the channel'));
  channel.on('error', (err) => finish(1, `channel: ${describe(err)}`));

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => finish(0, null));
  }

  process.title = 'scanlogd-monitor';
  if (settings.statusFd !== null) {
    try {
      fs.writeSync(settings.statusFd, 'ready monitor\n');
      fs.closeSync(settings.statusFd);
    } catch {
      // The launcher has gone; nothing waits for this report.
    }
  }
}

function removePidfile(file: string, report: (text: string) => void): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report(`pidfile ${file} not removed: ${describe(err)}`);
  }
}
