// The monitor process: started unprivileged by the capture process, it reads records
// from the channel on fd 3, detects scans, applies the flood limit and writes to syslog.

import fs = require('node:fs');
import net = require('node:net');
import { describe } from '../shared/errors.js';
import { SYSLOG_FAULT_PRIORITY, type DetectorParams } from '../shared/params.js';
import type { PacketRecord } from '../shared/record.js';
import type { Settings } from '../shared/options.js';
import { monotonicMs } from '../shared/clock.js';
import { closeInheritedFds } from '../shared/fds.js';
import { Detector } from './engine.js';
import { FLOOD_MESSAGE, FloodLimiter } from './limiter.js';
import { RecordReader } from './channel.js';
import { scanMessage, syslogDatagram } from './format.js';
import { SyslogWriter } from './syslog.js';

/** The channel from the capture process, as placed by the spawn. */
export const CHANNEL_FD = 3;
/** Bytes read from the channel at once: 3276 records. */
const CHANNEL_READ_BYTES = 64 * 1024;
/** Where the monitor of a background daemon reports that it runs. */
export const MONITOR_STATUS_FD = 4;

/**
 * Detection, flood limit and message text, without I/O: feed records with the clocks
 * of the moment; each line to log comes out through `emit`.
 */
export class ScanPipeline {
  readonly detector: Detector;
  readonly limiter: FloodLimiter;
  linesLogged = 0;
  scansSuppressed = 0;

  constructor(
    readonly params: Readonly<DetectorParams>,
    private readonly emit: (message: string) => void,
  ) {
    this.detector = new Detector(params);
    this.limiter = new FloodLimiter(params.logCount, params.logDelayMs);
  }

  /**
   * `monoNow` and `wallNowMs` are read when the records of a batch arrive; the
   * record's own capture time places the packet on the wall clock.
   */
  feed(record: PacketRecord, monoNow: number, wallNowMs: number): void {
    const lag = (monoNow - record.time) >>> 0;
    const wallSeconds = Math.floor((wallNowMs - (lag < 0x80000000 ? lag : 0)) / 1000);
    const scan = this.detector.process(record, wallSeconds);
    if (scan === null) return;
    switch (this.limiter.decide(scan.time)) {
      case 'log':
        this.linesLogged++;
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
}

export function runMonitor(settings: Settings): void {
  closeInheritedFds(settings.statusFd === null ? [CHANNEL_FD] : [CHANNEL_FD, settings.statusFd]);
  const stderr = (text: string): void => {
    process.stderr.write(`scanlogd monitor: ${text}\n`);
  };
  const syslog = new SyslogWriter(settings.syslogSocket, { notice: stderr });
  const log = (message: string): void => {
    syslog.send(syslogDatagram(message, new Date()));
    if (settings.stderr) process.stderr.write(`${message}\n`);
  };
  const pipeline = new ScanPipeline(settings.params, log);
  const reader = new RecordReader();
  reader.onLoss = (loss) => {
    const text = `capture process dropped ${loss.count} packets while the monitor was not reading`;
    stderr(text);
    syslog.send(syslogDatagram(text, new Date(), SYSLOG_FAULT_PRIORITY));
  };

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
      if (syslog.queued === 0 || Date.now() >= deadline) {
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
