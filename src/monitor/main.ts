// The monitor process: started unprivileged by the capture process, it reads records
// from the channel, runs them through the pipeline and writes lines to syslog (and
// events to the --json output). It is the only writer to syslog.

import fs = require('node:fs');
import net = require('node:net');
import { describe } from '../shared/errors.js';
import { DAEMON_ALERT, DAEMON_ERR, DAEMON_INFO } from '../shared/logging.js';
import type { Settings } from '../shared/options.js';
import { monotonicMs } from '../shared/clock.js';
import { CHANNEL_FD, MONITOR_JSON_FD, closeInheritedFds } from '../shared/fds.js';
import { lockProcess, onSigusr1 } from '../shared/procctl.js';
import { confirmStartFilter, describeLayers, enterSandbox, warmUpNode } from '../shared/sandbox.js';
import { RecordReader } from './channel.js';
import { JsonOutput } from './jsonout.js';
import { ceeMessage } from './cee.js';
import { eventLine, type MonitorEvent } from '../shared/events.js';
import { ScanPipeline, counterFields, countersEvent, countersMessage, type CaptureCounts } from './pipeline.js';
import { SyslogWriter } from './syslog.js';
import { monitorPlan } from './sandbox.js';

/** Bytes read from the channel at once. */
const CHANNEL_READ_BYTES = 64 * 1024;
/** How often followed scans and the flood window are checked for having gone quiet. */
const SWEEP_INTERVAL_MS = 250;
/** How long queued lines get to reach syslog at exit. */
const EXIT_DRAIN_MS = 500;

function stderr(text: string): void {
  process.stderr.write(`scanlogd monitor: ${text}\n`);
}

function removePidfile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') stderr(`pidfile ${file} not removed: ${describe(err)}`);
  }
}

export function runMonitor(settings: Settings): void {
  // SIGUSR1 first (onSigusr1 says why).
  let logCounters = (): void => {};
  onSigusr1(() => logCounters());
  const keep = [CHANNEL_FD];
  if (settings.statusFd !== null) keep.push(settings.statusFd);
  if (settings.json !== null) keep.push(MONITOR_JSON_FD);
  closeInheritedFds(keep);
  // Inherited from the capture process: no io_uring, no listen(2).
  confirmStartFilter('monitor');
  // After the looks at /proc/self/fd above, which a process that is not dumpable may
  // not read any more.
  lockProcess('monitor');

  const syslog = new SyslogWriter(settings.syslogSocket, { notice: stderr });
  /** A line for the operator: syslog at `priority`, and the terminal with --stderr. */
  const say = (priority: number, text: string): void => {
    syslog.log(priority, text);
    if (settings.stderr) process.stderr.write(`${text}\n`);
  };
  /** One of the monitor's own faults: always on stderr, and in syslog as an error. */
  const fault = (text: string): void => {
    stderr(text);
    syslog.log(DAEMON_ERR, text);
  };

  let json: JsonOutput | null = null;
  if (settings.json !== null) {
    const target = settings.json === '-' ? 'standard output' : settings.json;
    json = new JsonOutput(MONITOR_JSON_FD, {
      failing: (why) => fault(`JSON output to ${target} failed (${why}); dropping lines until it works again`),
      recovered: (dropped) => fault(`JSON output to ${target} works again; ${dropped} lines were dropped`),
    });
  }
  const jsonFile = json;
  // Each structured event goes to every output that wants it.
  const outputs: Array<(event: MonitorEvent) => void> = [];
  if (jsonFile !== null) outputs.push((event) => jsonFile.write(eventLine(event)));
  if (settings.jsonSyslog) outputs.push((event) => syslog.log(DAEMON_INFO, ceeMessage(event), new Date(), 'event'));
  const publish = outputs.length === 0 ? null : (event: MonitorEvent): void => outputs.forEach((output) => output(event));

  const pipeline = new ScanPipeline(settings.params, (message) => say(DAEMON_ALERT, message), publish, {
    udp: settings.udp,
    ipv6: settings.ipv6,
    ephemeralPorts: settings.ephemeralPorts,
  });
  if (publish !== null) setInterval(() => pipeline.sweep(monotonicMs(), Date.now()), SWEEP_INTERVAL_MS);

  const reader = new RecordReader();
  // Sent to the monitor directly, the capture counts are those of its last report.
  const capture: CaptureCounts = { packets: 0, dropped: 0, rejected: 0 };
  logCounters = () => {
    const fields = counterFields(pipeline, reader.received, capture, {
      json: jsonFile,
      syslogEventsDropped: settings.jsonSyslog ? syslog.droppedEvents : null,
    });
    say(DAEMON_INFO, countersMessage(fields));
    publish?.(countersEvent(fields, Date.now()));
  };

  let ending = false;
  const finish = (code: number, why: string | null): void => {
    if (ending) return;
    ending = true;
    if (why !== null) fault(why);
    if (code === 0 && settings.pidfile !== null) removePidfile(settings.pidfile);
    const deadline = Date.now() + EXIT_DRAIN_MS;
    const tryExit = (): void => {
      if ((syslog.queued === 0 && (jsonFile === null || jsonFile.pending === 0)) || Date.now() >= deadline) {
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
        reader.push(readBuffer.subarray(0, length), (record) => {
          switch (record.type) {
            case 'packet':
              pipeline.feed(record, monoNow, wallNow);
              break;
            case 'udp':
              pipeline.feedUdp(record, monoNow, wallNow);
              break;
            case 'packet6':
              pipeline.feed6(record, monoNow, wallNow);
              break;
            case 'loss':
              fault(`capture process dropped ${record.count} packets while the monitor was not reading`);
              break;
            case 'counters':
              capture.packets += record.packets;
              capture.dropped += record.dropped;
              capture.rejected += record.rejected;
              if (record.log) logCounters();
              break;
          }
        });
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

  warmUpNode();
  // Before the event loop reads the first record.
  const sandboxed = describeLayers(enterSandbox(monitorPlan(settings.pidfile, process.pid)));
  process.title = 'scanlogd-monitor';
  stderr(sandboxed);
  if (settings.statusFd !== null) {
    try {
      fs.writeSync(settings.statusFd, 'ready monitor\n');
      fs.closeSync(settings.statusFd);
    } catch {
      // The launcher has gone; nothing waits for this report.
    }
  }
}
