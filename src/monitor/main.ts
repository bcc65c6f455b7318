// The monitor process: started unprivileged by the capture process, it reads records
// from the channel, lets the pipeline decide what each one means and routes what it
// returns to syslog (and to the --json output). It is the only writer to syslog.

import fs = require('node:fs');
import net = require('node:net');
import { StartupError, errnoText, messageOf } from '../shared/errors.js';
import { EXIT_FAULT } from '../shared/exits.js';
import { DAEMON_NOTICE } from '../shared/logging.js';
import { VERSION_LINE } from '../shared/version.js';
import type { MonitorSettings } from '../shared/options.js';
import { monotonicMs } from '../shared/clock.js';
import { CHANNEL_FD, MONITOR_JSON_FD, MONITOR_SOCKET_TABLES_FD, closeInheritedFds, type SocketTable } from '../shared/fds.js';
import { RELAYED_SIGHUP, lockProcess, onSigusr1 } from '../shared/procctl.js';
import { confirmStartFilter, describeLayers, enterSandbox, warmUpNode } from '../shared/sandbox.js';
import { RecordReader } from './channel.js';
import { MonitorOutputs, monitorStderr } from './outputs.js';
import { ScanPipeline } from './pipeline.js';
import { RecordLoop, internalFault, type Stop } from './records.js';
import { captureSockets } from '../shared/record.js';
import { monitorPlan } from './sandbox.js';
import { SocketTables } from './sockets.js';

/** Bytes read from the channel at once. */
const CHANNEL_READ_BYTES = 64 * 1024;
/** How often followed scans and the flood window are checked for having gone quiet. */
const SWEEP_INTERVAL_MS = 250;
/** How often the capture process's report limit is checked for a window to close. */
const REPORTS_CHECK_MS = 1000;
/** How often the second stage is asked whether the socket tables are due for a read. */
const SOCKETS_CHECK_MS = 1000;
/** How long queued lines get to reach syslog at exit. */
const EXIT_DRAIN_MS = 500;

/** The monitor's one way out, and whether it is on it. */
interface Exit {
  readonly ending: boolean;
  /**
   * A clean stop on `signal` (status 0) or a fault said on stderr
   * and in syslog; either way one stop line with the totals goes to syslog.
   */
  now(status: number, why: string | null, stack?: string | null, signal?: NodeJS.Signals): void;
}

/** The stop line: on which signal, or on a fault with which exit status, and the counters at the end. */
export function stopLine(status: number, signal: NodeJS.Signals | undefined, totals: string): string {
  const reason = signal !== undefined ? `on ${signal}` : `on a fault (exit status ${status})`;
  return `${VERSION_LINE} stopped ${reason}; totals: ${totals}`;
}

/** Ends the monitor once; queued lines get EXIT_DRAIN_MS to reach syslog. `totals` says the counters at the end. */
function exiter(outputs: MonitorOutputs, totals: () => string): Exit {
  let ending = false;
  return {
    get ending() {
      return ending;
    },
    now(status, why, stack = null, signal) {
      if (ending) return;
      ending = true;
      if (why !== null) outputs.fault(why);
      if (stack !== null) process.stderr.write(`${stack}\n`);
      outputs.syslog.log(DAEMON_NOTICE, stopLine(status, signal, totals()));
      const deadline = Date.now() + EXIT_DRAIN_MS;
      const tryExit = (): void => {
        if (outputs.drained || Date.now() >= deadline) {
          outputs.close();
          process.exit(status);
        }
        setTimeout(tryExit, 20);
      };
      tryExit();
    },
  };
}

/** Reads the channel into one buffer (a flood costs no allocation per read) and hands each chunk to `take`. */
function readChannel(take: (chunk: Buffer) => boolean, closed: (why: string) => void): net.Socket {
  const buffer = Buffer.alloc(CHANNEL_READ_BYTES);
  const onread = { buffer, callback: (length: number): boolean => take(buffer.subarray(0, length)) };
  // onread is accepted by the constructor, though @types/node lists it only for connect().
  const channel = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: false, onread } as net.SocketConstructorOpts);
  channel.on('end', () => closed('capture process closed the channel'));
  channel.on('error', (err) => closed(`channel: ${messageOf(err)}`));
  return channel;
}

/** The socket tables the capture process handed over (--slow-scans), at their descriptors. */
export function socketTables(settings: Pick<MonitorSettings, 'slowScans' | 'socketTables'>): SocketTables | null {
  if (!settings.slowScans || settings.socketTables === null) return null;
  const names = settings.socketTables.split(',') as SocketTable[];
  return new SocketTables(names.map((table, i) => ({ table, fd: MONITOR_SOCKET_TABLES_FD + i })));
}

/**
 * Reads the socket tables whenever the second stage wants them, and routes what its
 * judgments say. A table that cannot be read is said once, until it is read again; the
 * stage judges no contact meanwhile (a port it cannot see is not a closed one).
 */
function watchSockets(tables: SocketTables, pipeline: ScanPipeline, outputs: MonitorOutputs): void {
  const stage = pipeline.slow;
  if (stage === null) return;
  const failing = new Set<string>();
  setInterval(() => {
    const mono = monotonicMs();
    if (!stage.wantsRefresh(mono)) return;
    const started = process.hrtime.bigint();
    let failed: string[] = [];
    const said = pipeline.refreshSockets(
      (sink) => {
        failed = tables.refresh(sink).failed.map(({ table, why }) => `${table} (${why})`);
        return failed.length === 0;
      },
      mono,
      Date.now(),
    );
    stage.noteRefreshCost(Number(process.hrtime.bigint() - started) / 1e6);
    for (const table of failed)
      if (!failing.has(table))
        outputs.fault(`--slow-scans: cannot read the socket table ${table}; no contact is judged until it is read again`);
    failing.clear();
    for (const table of failed) failing.add(table);
    outputs.route(said);
  }, SOCKETS_CHECK_MS);
}

/**
 * A detached start whose syslog socket cannot be reached would lose every line
 * unseen (its standard error is gone): refused, unless --json keeps the scans, which
 * the launcher is then warned of. In the foreground the lines wait for the socket.
 */
function checkSyslogReachable(settings: MonitorSettings, outputs: MonitorOutputs): void {
  if (settings.statusFd === null) return;
  const warning = unreachableSyslog(settings, outputs.syslog.unreachable);
  if (warning === null) return;
  try {
    fs.writeSync(settings.statusFd, `${warning}\n`);
  } catch {
    // The launcher has gone; nothing waits for this report.
  }
}

/**
 * What a detached start says when syslog cannot be reached (`why`, an errno code, or
 * null when it can): a StartupError without --json, a warning for the launcher with it.
 */
export function unreachableSyslog(settings: Pick<MonitorSettings, 'syslogSocket' | 'json'>, why: string | null): string | null {
  if (why === null) return null;
  const problem = `syslog socket ${settings.syslogSocket}: ${errnoText(why)}`;
  if (settings.json === null) throw new StartupError(`${problem}; the daemon's lines would go nowhere`);
  return `warning scanlogd: ${problem}; lines wait for it, scans go to ${settings.json} meanwhile`;
}

/** What the start line says is watched, and how. */
export function watchedText(settings: Pick<MonitorSettings, 'interface' | 'udp' | 'ipv6' | 'slowScans'>): string {
  const backend = settings.interface === null ? 'raw socket (after the host firewall)' : `libpcap on ${settings.interface}`;
  const protocols = settings.udp ? 'TCP and UDP' : 'TCP';
  const families = settings.ipv6 ? 'IPv4 and IPv6' : 'IPv4';
  return `${backend}, ${protocols} over ${families}${settings.slowScans ? ', slow scans' : ''}`;
}

/** Says the monitor runs: on stderr, in syslog with what is watched, and to the launcher of a detached start. */
function reportReady(settings: MonitorSettings, tables: SocketTables | null, outputs: MonitorOutputs): void {
  // Before the event loop reads the first record.
  const tableFds = tables === null ? [] : tables.tables.map(({ fd }) => fd);
  const eventsFd = settings.json === null ? null : MONITOR_JSON_FD;
  const sandboxed = describeLayers(enterSandbox(monitorPlan(process.pid, tableFds, eventsFd)));
  process.title = 'scanlogd-monitor';
  monitorStderr(sandboxed);
  if (settings.statusFd !== null) checkSyslogReachable(settings, outputs);
  outputs.syslog.log(DAEMON_NOTICE, `${VERSION_LINE} started: ${watchedText(settings)}; monitor ${sandboxed}`);
  if (settings.statusFd === null) return;
  try {
    fs.writeSync(settings.statusFd, 'ready monitor\n');
    fs.closeSync(settings.statusFd);
  } catch {
    // The launcher has gone; nothing waits for this report.
  }
}

export function runMonitor(settings: MonitorSettings): void {
  // SIGUSR1 first (onSigusr1 says why). The counters line is the capture process's to
  // ask for, with its own counts: a SIGUSR1 to both halves (systemctl kill) gives one.
  onSigusr1(() => {});
  const keep = [CHANNEL_FD];
  if (settings.statusFd !== null) keep.push(settings.statusFd);
  if (settings.json !== null) keep.push(MONITOR_JSON_FD);
  const tables = socketTables(settings);
  if (tables !== null) keep.push(...tables.tables.map(({ fd }) => fd));
  closeInheritedFds(keep);
  // Inherited from the capture process: no io_uring, no listen(2).
  confirmStartFilter('monitor');
  // After the looks at /proc/self/fd above, which a process that is not dumpable may
  // not read any more.
  lockProcess('monitor');

  const outputs = new MonitorOutputs(settings);
  let totals = (): string => '';
  const exit = exiter(outputs, () => totals());
  const stop = (s: Stop): void => exit.now(s.status, s.why, s.stack);
  process.on('uncaughtException', (err) => stop(internalFault(err)));

  const watch = { udp: settings.udp, ipv6: settings.ipv6, ephemeralPorts: settings.ephemeralPorts };
  const pipeline = new ScanPipeline(settings.params, {
    watch,
    events: outputs.wantsEvents,
    slowScans: settings.slowScans,
    // The raw socket is given only what this host receives; a device shows other hosts' traffic too.
    localOnly: settings.interface === null,
    broadcasts: settings.broadcasts ?? [],
  });
  const sockets = captureSockets(watch, settings.interface !== null);
  const lanes = { udp: settings.udp, ipv6: settings.ipv6, answers: settings.slowScans && settings.interface !== null };
  const loop = new RecordLoop(new RecordReader(lanes, sockets), pipeline, outputs, sockets);
  totals = () => loop.totals();
  if (outputs.wantsEvents) setInterval(() => outputs.route(pipeline.sweep(monotonicMs(), Date.now())), SWEEP_INTERVAL_MS);
  setInterval(() => loop.closeReportWindow(monotonicMs()), REPORTS_CHECK_MS);

  const channel = readChannel(
    (chunk) => {
      if (exit.ending) return false;
      const fault = loop.push(chunk, monotonicMs(), Date.now());
      if (fault === null) return true;
      channel.destroy();
      stop(fault);
      return false;
    },
    (why) => exit.now(EXIT_FAULT, why),
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.on(signal, () => {
      if (!exit.ending) loop.endReportWindow();
      exit.now(0, null, null, signal);
    });
  // Nothing can be opened again after the drop, so nothing is re-read: a SIGHUP out of
  // habit (a generic postrotate) must not end detection. The line is said for the
  // SIGHUPs the capture process passes on (RELAYED_SIGHUP says why by another signal);
  // one sent to the monitor itself is ignored, so that signalling both makes one line.
  process.on('SIGHUP', () => {});
  process.on(RELAYED_SIGHUP, () => {
    if (loop.admitRelayedSighup(monotonicMs()))
      outputs.syslog.log(DAEMON_NOTICE, 'SIGHUP: the configuration is read only at start; a restart applies a changed one');
  });

  if (tables !== null) watchSockets(tables, pipeline, outputs);

  warmUpNode();
  reportReady(settings, tables, outputs);
}
