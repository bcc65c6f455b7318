// The capture process: the only one ever to hold root. It opens the capture source
// (a raw socket, or a libpcap handle with --interface), starts the monitor
// unprivileged, chroots and drops to the scanlogd user, then turns packets into
// records on the channel. It reads nothing the monitor sends.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import type net = require('node:net');
import { StartupError, describe } from '../shared/errors.js';
import { monitorArguments, type Settings } from '../shared/options.js';
import { monotonicMs } from '../shared/clock.js';
import { MONITOR_JSON_FD, closeInheritedFds } from '../shared/fds.js';
import { NODE_HEAP_OPTIONS } from '../shared/heap.js';
import { RECORD_SIZE, encodeCountersInto, encodeLossInto } from '../shared/record.js';
import { IgnoreFilter } from '../shared/allowlist.js';
import { packetToRecord } from './packet.js';
import { openRawTcpSocket } from './rawsocket.js';
import { openPcap } from './pcap.js';
import type { PacketSource } from './source.js';
import { checkChrootDir, checkReadableBy, dropPrivileges, lookupUser, type Account } from './privdrop.js';

/** Records written per flush at most; flushes also happen whenever the socket drains. */
const BATCH_RECORDS = 2048;
/**
 * Bytes the channel may hold unsent before records are dropped (and counted) rather
 * than buffered: a stopped monitor must not make the capture process grow.
 */
export const CHANNEL_BACKLOG_LIMIT = 4 * 1024 * 1024;
/** How long a stopping monitor gets before it is killed. */
const STOP_GRACE_MS = 800;

export interface CaptureStatus {
  report(line: string): void;
  close(): void;
}

function checkPidfileDir(file: string, account: Account): void {
  const dir = path.dirname(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw new StartupError(`pidfile ${file}: ${describe(err)}`);
  }
  const writable =
    (st.uid === account.uid && (st.mode & 0o200) !== 0) ||
    (st.gid === account.gid && (st.mode & 0o020) !== 0) ||
    (st.mode & 0o002) !== 0;
  if (!st.isDirectory() || !writable) {
    throw new StartupError(
      `pidfile ${file}: directory ${dir} must be writable by user ${account.name}, which removes the file at stop`,
    );
  }
}

/** Creates the pidfile without following a link someone may have planted there. */
function writePidfile(file: string): void {
  try {
    fs.rmSync(file, { force: true });
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
    fs.writeSync(fd, `${process.pid}\n`);
    fs.closeSync(fd);
  } catch (err) {
    throw new StartupError(`pidfile ${file}: ${describe(err)}`);
  }
}

/**
 * Opens the --json file for the monitor, which cannot open it itself: a log directory
 * is root's. Appending, created 0640, and never through a planted symbolic link.
 */
function openJsonOutput(file: string): number {
  if (file === '-') return 1;
  try {
    return fs.openSync(
      file,
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
      0o640,
    );
  } catch (err) {
    throw new StartupError(`--json ${file}: ${describe(err)}`);
  }
}

/** Counts since the last counters record; a record is sent before any could wrap. */
const COUNTERS_FLUSH_AT = 0x40000000;

export function runCapture(settings: Settings, entryScript: string, status: CaptureStatus | null): void {
  const stderr = (text: string): void => {
    process.stderr.write(`scanlogd capture: ${text}\n`);
  };

  if (process.getuid?.() !== 0) throw new StartupError('must be run as root');
  // Without a listener, Node answers SIGUSR1 by opening its inspector; the counters
  // request may come at any time, start-up included.
  let onCountersRequest = (): void => {};
  process.on('SIGUSR1', () => onCountersRequest());
  closeInheritedFds(settings.statusFd === null ? [] : [settings.statusFd]);
  const account = lookupUser(settings.user);
  const chrootDir = checkChrootDir(settings.chroot);
  if (settings.pidfile !== null) checkPidfileDir(settings.pidfile, account);
  checkReadableBy(account, entryScript);
  const jsonFd = settings.json === null ? null : openJsonOutput(settings.json);

  // Channel on fd 3, the launcher's status pipe on 4, the --json output on 5.
  const stdio: Array<'ignore' | 'inherit' | 'pipe' | number> = ['ignore', 'ignore', 'inherit', 'pipe', 'ignore', 'ignore'];
  if (status !== null) stdio[4] = settings.statusFd as number;
  if (jsonFd !== null) stdio[MONITOR_JSON_FD] = jsonFd;

  // The monitor starts before the capture socket exists, so it can never hold it,
  // whatever the backend: the raw socket is opened close-on-exec, but a capture
  // library need not be.
  let monitor: childProcess.ChildProcess;
  try {
    monitor = childProcess.spawn(
      process.execPath,
      [...NODE_HEAP_OPTIONS, entryScript, ...monitorArguments(settings, status === null ? null : 4)],
      {
        uid: account.uid,
        gid: account.gid,
        env: {},
        cwd: '/',
        stdio,
      },
    );
  } catch (err) {
    throw new StartupError(`cannot start the monitor as user ${account.name}: ${describe(err)}`, { cause: err });
  }
  const channel = monitor.stdio[3] as net.Socket;
  // The monitor has its copy; the capture process never writes events itself.
  if (jsonFd !== null && jsonFd !== 1) fs.closeSync(jsonFd);

  let source: PacketSource | null = null;
  let stopping = false;
  let exited = false;
  const exitWith = (code: number, why: string | null): void => {
    if (exited) return;
    exited = true;
    if (why !== null) stderr(why);
    source?.close();
    process.exit(code);
  };

  monitor.on('error', (err) => exitWith(1, `monitor could not be started: ${describe(err)}`));
  monitor.on('exit', (code, signal) => {
    if (stopping || code === 0) exitWith(0, null);
    else exitWith(1, `monitor (pid ${monitor.pid}) ${signal !== null ? `was killed by ${signal}` : `exited with status ${code}`}`);
  });
  channel.on('error', (err) => exitWith(1, `channel to the monitor: ${describe(err)}`));
  channel.on('close', () => {
    // The exit event, which says how the monitor ended, normally follows at once.
    if (!stopping) setTimeout(() => exitWith(1, 'monitor closed the channel'), 300).unref();
  });

  // Ignored packets are dropped in the packet loop below, before they cost channel
  // bytes or a monitor wake-up: to the detector they never arrived. The tables are
  // fixed from here on.
  const built = new IgnoreFilter(settings.ignoreSources, settings.ignorePorts);
  const ignore = built.empty ? null : built;

  let opened: PacketSource;
  // Said at a clean stop, as tcpdump does: what the kernel passed and dropped.
  let closingReport: () => string | null = () => null;
  try {
    if (settings.captureInterface === null) {
      opened = openRawTcpSocket();
    } else {
      const pcap = openPcap({ device: settings.captureInterface, promiscuous: settings.promiscuous });
      closingReport = () => pcap.statsLine();
      opened = pcap;
    }
    source = opened;
    if (settings.pidfile !== null) writePidfile(settings.pidfile);
    dropPrivileges(chrootDir, account);
  } catch (err) {
    // The start-up error is the one thing to report; the monitor just goes.
    monitor.removeAllListeners('exit');
    channel.removeAllListeners('close');
    monitor.kill('SIGKILL');
    throw err;
  }

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const report = closingReport();
    if (report !== null) stderr(report);
    opened.close();
    monitor.kill('SIGTERM');
    setTimeout(() => {
      monitor.kill('SIGKILL');
      exitWith(0, null);
    }, STOP_GRACE_MS).unref();
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);

  let batch = Buffer.allocUnsafe(BATCH_RECORDS * RECORD_SIZE);
  let filled = 0;
  let dropped = 0;
  // Since the last counters record.
  let seen = 0;
  let rejected = 0;
  let droppedSince = 0;
  let now = monotonicMs();
  let sinceClock = 16;

  const flush = (): void => {
    if (filled === 0) return;
    if (channel.writableLength > CHANNEL_BACKLOG_LIMIT) {
      dropped += filled / RECORD_SIZE;
      droppedSince += filled / RECORD_SIZE;
    } else {
      if (dropped > 0) {
        // Tell the monitor (and so syslog) how much it missed, before what follows.
        const report = Buffer.alloc(RECORD_SIZE);
        encodeLossInto({ count: Math.min(dropped, 0xffffffff), time: monotonicMs() }, report, 0);
        channel.write(report);
        stderr(`monitor fell behind: ${dropped} packets dropped`);
        dropped = 0;
      }
      if (channel.writableLength === 0) {
        // Nothing queued: the kernel normally takes the bytes at once, so a view of the
        // batch costs no allocation (a copy per flush, freed only at the next
        // scavenge, made resident memory climb under a flood). A write that had to be
        // queued keeps the view, and with it this batch buffer: take a new one.
        channel.write(batch.subarray(0, filled));
        if (channel.writableLength !== 0) batch = Buffer.allocUnsafe(BATCH_RECORDS * RECORD_SIZE);
      } else {
        // Behind a queued write, a copy of just the filled part: a view would pin a
        // whole batch buffer per write, and the backlog limit counts only filled bytes.
        channel.write(Buffer.from(batch.subarray(0, filled)));
      }
    }
    filled = 0;
    if (seen >= COUNTERS_FLUSH_AT || droppedSince >= COUNTERS_FLUSH_AT) sendCounters(false);
  };

  /** Hands the counts to the monitor, which logs them (with its own) when `log` is set. */
  const sendCounters = (log: boolean): void => {
    const record = Buffer.alloc(RECORD_SIZE);
    encodeCountersInto(
      { packets: Math.min(seen, 0xffffffff), dropped: Math.min(droppedSince, 0xffffffff), rejected: Math.min(rejected, 0xffffffff), log, time: monotonicMs() },
      record,
      0,
    );
    seen = 0;
    droppedSince = 0;
    rejected = 0;
    // Small and rare: sent even over the backlog limit, so that a request is never lost.
    channel.write(record);
  };
  const reportCounters = (): void => {
    if (stopping) return;
    flush();
    sendCounters(true);
  };
  onCountersRequest = reportCounters;
  if (settings.statsIntervalMs !== null) setInterval(reportCounters, settings.statsIntervalMs).unref();

  opened.start(
    (pkt, length) => {
      // One clock read per few packets: they are read microseconds apart.
      if (++sinceClock >= 16) {
        sinceClock = 0;
        now = monotonicMs();
      }
      seen++;
      if (packetToRecord(pkt, length, now, batch, filled) !== 'ok') {
        rejected++;
      } else if (ignore === null || !ignore.ignoresRecord(batch, filled)) {
        filled += RECORD_SIZE;
        if (filled === batch.length) flush();
      }
    },
    () => {
      flush();
      sinceClock = 16;
    },
    (err) => exitWith(1, describe(err)),
  );

  // Named like the original daemon, so that ps, pidof and init scripts find it.
  process.title = 'scanlogd';
  status?.report('ready capture');
  status?.close();
}
