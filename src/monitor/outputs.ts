// Where what the monitor has to say goes: syslog for every line (and, with
// --json-syslog, every event as a CEE message), standard error too for the lines with
// --stderr and always for the monitor's own faults, and the --json descriptor.

import { DAEMON_ERR, DAEMON_INFO } from '../shared/logging.js';
import { MONITOR_JSON_FD } from '../shared/fds.js';
import { ceeMessage } from './cee.js';
import { eventLine, type MonitorEvent } from '../shared/events.js';
import { JsonOutput } from './jsonout.js';
import type { Output, OutputCounts } from './pipeline.js';
import type { DatagramConnector } from '../shared/syslogsock.js';
import { SyslogWriter } from './syslog.js';

/** The settings that decide where the monitor's outputs go. */
export interface OutputSettings {
  syslogSocket: string;
  stderr: boolean;
  /** --json: the path (for messages only: the descriptor is inherited), '-' for standard output, or null. */
  json: string | null;
  jsonSyslog: boolean;
}

/** The monitor's own messages on standard error. */
export function monitorStderr(text: string): void {
  process.stderr.write(`scanlogd monitor: ${text}\n`);
}

export class MonitorOutputs {
  readonly syslog: SyslogWriter;
  private readonly json: JsonOutput | null;

  constructor(
    private readonly settings: Readonly<OutputSettings>,
    options: { connect?: DatagramConnector; jsonFd?: number } = {},
  ) {
    this.syslog = new SyslogWriter(settings.syslogSocket, { notice: monitorStderr, connect: options.connect });
    const target = settings.json === '-' ? 'standard output' : settings.json;
    this.json =
      settings.json === null
        ? null
        : new JsonOutput(options.jsonFd ?? MONITOR_JSON_FD, {
            failing: (why) => this.fault(`JSON output to ${target} failed (${why}); dropping lines until it works again`),
            recovered: (dropped) => this.fault(`JSON output to ${target} works again; ${dropped} lines were dropped`),
          });
  }

  /** Whether any output takes structured events. */
  get wantsEvents(): boolean {
    return this.json !== null || this.settings.jsonSyslog;
  }

  /** Sends each output where it goes, in order. */
  route(outputs: readonly Output[]): void {
    for (const output of outputs) {
      if (output.kind === 'line') this.line(output.priority, output.text);
      else this.event(output.event);
    }
  }

  /** A line for the operator: syslog at `priority`, and the terminal with --stderr. */
  line(priority: number, text: string): void {
    this.syslog.log(priority, text);
    if (this.settings.stderr) process.stderr.write(`${text}\n`);
  }

  event(event: MonitorEvent): void {
    this.json?.write(eventLine(event));
    if (this.settings.jsonSyslog) this.syslog.log(DAEMON_INFO, ceeMessage(event), new Date(), 'event');
  }

  /** One of the monitor's own faults: always on standard error, and in syslog as an error. */
  fault(text: string): void {
    monitorStderr(text);
    this.syslog.log(DAEMON_ERR, text);
  }

  /** What the counters line says of the outputs. */
  counts(): OutputCounts {
    return { json: this.json, syslogEventsDropped: this.settings.jsonSyslog ? this.syslog.droppedEvents : null };
  }

  /** Whether everything queued has been written. */
  get drained(): boolean {
    return this.syslog.queued === 0 && (this.json === null || this.json.pending === 0);
  }

  close(): void {
    if (this.syslog.queued > 0) monitorStderr(`${this.syslog.queued} lines not delivered to ${this.settings.syslogSocket}`);
    this.syslog.close();
  }
}
