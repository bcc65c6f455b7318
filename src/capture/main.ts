// The capture process: the only one ever to hold root. It checks what it is given,
// starts the monitor unprivileged, opens the capture source (a raw socket, or a
// libpcap handle with --interface), chroots and drops to the scanlogd user, then turns
// packets into records on the channel. It reads nothing the monitor sends.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import type net = require('node:net');
import os = require('node:os');
import { StartupError, messageOf } from '../shared/errors.js';
import { EXIT_FAULT, EXIT_INTERNAL_FAULT, monitorExitText } from '../shared/exits.js';
import { MONITOR_ROLE, monitorArgument } from '../shared/options.js';
import type { Settings } from './settings.js';
import { VERSION_LINE } from '../shared/version.js';
import { directedBroadcasts } from '../shared/ipv4.js';
import { monotonicMs } from '../shared/clock.js';
import { CHANNEL_FD, MONITOR_JSON_FD, MONITOR_SOCKET_TABLES_FD, MONITOR_STATUS_FD, closeInheritedFds } from '../shared/fds.js';
import type { IgnoreFilter } from './ignore.js';
import { RELAYED_SIGHUP, loadProcCtl, lockProcess, onSigusr1 } from '../shared/procctl.js';
import { describeLayers, enterSandbox, warmUpNode } from '../shared/sandbox.js';
import { nodeOptions } from './runtime.js';
import { ChannelWriter } from './channel.js';
import { claimPidfile, openJsonOutput, openSocketTables, releasePidfile, type HeldPidfile, type PidfileCalls } from './files.js';
import { checkStart, type Blame } from './preflight.js';
import { answerToRecord, packetToRecord, type Watched } from './packet.js';
import { openRawSockets } from './rawsocket.js';
import { readEphemeralPorts } from './ephemeral.js';
import { openPcap } from './pcap.js';
import type { PacketSource } from './source.js';
import { capturePlan, captureSocketFds } from './sandbox.js';
import { dropPrivileges, loadPrivDrop, systemCalls, type Account } from './privdrop.js';

/** How long a stopping monitor gets before it is killed. */
const STOP_GRACE_MS = 800;
/** How long a closed channel waits for the monitor's exit, which says how it ended. */
const EXIT_REPORT_WAIT_MS = 700;
/** What a SIGSYS death means here. */
const SECCOMP_KILL = ' (its seccomp filter: a system call outside its allowlist)';
/** Packets between two reads of the clock: they are read microseconds apart. */
const PACKETS_PER_CLOCK_READ = 16;

export interface CaptureStatus {
  report(line: string): void;
  close(): void;
}

function stderr(text: string): void {
  process.stderr.write(`scanlogd capture: ${text}\n`);
}

interface Monitor {
  child: childProcess.ChildProcess;
  channel: net.Socket;
}

/**
 * Starts the monitor as `account`, with an empty environment, from `/`. It starts
 * before the capture socket exists, so it can never hold it, whatever the backend:
 * the raw socket is opened close-on-exec, but a capture library need not be.
 */
function startMonitor(settings: Settings, account: Account, entryScript: string): Monitor {
  const jsonFd = settings.json === null ? null : openJsonOutput(settings.json);
  const tables = settings.slowScans ? openSocketTables(settings.udp) : [];
  const stdio = monitorStdio(
    settings.statusFd,
    jsonFd,
    tables.map(({ fd }) => fd),
  );
  let child: childProcess.ChildProcess;
  try {
    child = childProcess.spawn(
      process.execPath,
      [
        ...nodeOptions(),
        entryScript,
        ...MONITOR_ROLE,
        // Its own copy of the status pipe sits at a fixed descriptor, the socket tables from another.
        monitorArgument({
          ...settings,
          statusFd: settings.statusFd === null ? null : MONITOR_STATUS_FD,
          socketTables: tables.length === 0 ? null : tables.map(({ table }) => table).join(','),
          // Read once, here, as root: the monitor has no way to ask the kernel later.
          broadcasts: settings.slowScans ? directedBroadcasts(Object.values(os.networkInterfaces()).flatMap((list) => list ?? [])) : null,
        }),
      ],
      { uid: account.uid, gid: account.gid, env: {}, cwd: '/', stdio },
    );
  } catch (err) {
    throw new StartupError(`cannot start the monitor as user ${account.name}: ${messageOf(err)}`, { cause: err });
  } finally {
    // The monitor has its copies; the capture process never writes events or reads the tables itself.
    if (jsonFd !== null && jsonFd !== 1) fs.closeSync(jsonFd);
    for (const { fd } of tables) fs.closeSync(fd);
  }
  return { child, channel: child.stdio[CHANNEL_FD] as net.Socket };
}

/**
 * The monitor's descriptors, each at the fixed number it looks for: the channel, a
 * detached start's status pipe (the monitor reports its own readiness on it), the
 * --json file, the socket tables from MONITOR_SOCKET_TABLES_FD on. Its standard input
 * and output go nowhere; its standard error is the daemon's.
 */
export function monitorStdio(
  statusFd: number | null,
  jsonFd: number | null,
  tableFds: readonly number[],
): Array<'ignore' | 'inherit' | 'pipe' | number> {
  const stdio: Array<'ignore' | 'inherit' | 'pipe' | number> = ['ignore', 'ignore', 'inherit'];
  stdio[CHANNEL_FD] = 'pipe';
  stdio[MONITOR_STATUS_FD] = statusFd ?? 'ignore';
  stdio[MONITOR_JSON_FD] = jsonFd ?? 'ignore';
  tableFds.forEach((fd, i) => (stdio[MONITOR_SOCKET_TABLES_FD + i] = fd));
  return stdio;
}

/**
 * How the capture process ends when its monitor exits with `code` or on `signal`: with
 * status 0 and nothing to say when it was stopping anyway or the monitor stopped
 * cleanly, otherwise with a fault worded for the operator.
 */
export function monitorEnded(
  pid: number | undefined,
  code: number | null,
  signal: NodeJS.Signals | null,
  stopping: boolean,
): { status: number; why: string | null } {
  if (stopping || code === 0) return { status: 0, why: null };
  if (signal !== null)
    return { status: EXIT_FAULT, why: `monitor (pid ${pid ?? '?'}) was killed by ${signal}${signal === 'SIGSYS' ? SECCOMP_KILL : ''}` };
  return { status: EXIT_FAULT, why: monitorExitText(pid, code ?? EXIT_FAULT) };
}

function openSource(settings: Settings): PacketSource {
  if (settings.interface === null) return openRawSockets(settings);
  return openPcap({ device: settings.interface, promiscuous: settings.promisc, watched: settings, answers: settings.slowScans });
}

/**
 * Removes the pidfile this process holds, if any; the directory was opened before the
 * chroot, so this works at any end, before or after the drop.
 */
function pidfileRemover(held: HeldPidfile | null, calls: PidfileCalls): () => void {
  return () => {
    if (held === null) return;
    const why = releasePidfile(held, calls);
    if (why !== null) stderr(why);
  };
}

/**
 * Ends the capture process with the monitor: a clean stop on a signal, a fault when
 * the monitor or the channel goes first. Every end removes the pidfile.
 */
function supervise(
  monitor: Monitor,
  source: PacketSource,
  removePidfile: () => void,
): { stop(signal: 'SIGTERM' | 'SIGINT'): void; relaySighup(): void; fail(why: string): void; readonly stopping: boolean } {
  let stopping = false;
  let exited = false;
  const exitWith = (code: number, why: string | null): void => {
    if (exited) return;
    exited = true;
    if (why !== null) stderr(why);
    source.close();
    removePidfile();
    process.exit(code);
  };
  const { child, channel } = monitor;
  child.on('error', (err) => exitWith(EXIT_FAULT, `monitor could not be started: ${messageOf(err)}`));
  child.on('exit', (code, signal) => {
    const { status, why } = monitorEnded(child.pid, code, signal, stopping);
    exitWith(status, why);
  });
  channel.on('error', (err) => exitWith(EXIT_FAULT, `channel to the monitor: ${messageOf(err)}`));
  channel.on('close', () => {
    if (!stopping) setTimeout(() => exitWith(EXIT_FAULT, 'monitor closed the channel'), EXIT_REPORT_WAIT_MS).unref();
  });
  // A fault of this process's own, not the monitor's: said as such.
  process.on('uncaughtException', (err) => {
    stderr(`internal fault: ${messageOf(err)}`);
    if (err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
    exitWith(EXIT_INTERNAL_FAULT, null);
  });
  return {
    // The monitor gets the same signal, which its stop line names.
    stop(signal) {
      if (stopping) return;
      stopping = true;
      const stats = source.statsLine?.();
      if (stats !== undefined) stderr(stats);
      source.close();
      child.kill(signal);
      setTimeout(() => {
        child.kill('SIGKILL');
        exitWith(0, null);
      }, STOP_GRACE_MS).unref();
    },
    relaySighup() {
      if (!stopping) child.kill(RELAYED_SIGHUP);
    },
    fail: (why) => exitWith(EXIT_FAULT, why),
    get stopping() {
      return stopping;
    },
  };
}

/**
 * The hot path: each packet checked and summarised into the writer's batch, unless
 * it is malformed or ignored; the batch goes out whenever the source is drained.
 * Ignored packets are dropped here, before they cost channel bytes or a monitor
 * wake-up: to the detector they never arrived.
 */
export function forward(
  source: PacketSource,
  writer: ChannelWriter,
  ignore: IgnoreFilter | null,
  watched: Readonly<Watched>,
  fail: (why: string) => void,
): void {
  // A plain object of two booleans: the same shape on every call of the hot path.
  const watch: Watched = { udp: watched.udp, ipv6: watched.ipv6 };
  let now = monotonicMs();
  let sinceClock = PACKETS_PER_CLOCK_READ;
  source.start(
    (pkt, length) => {
      if (++sinceClock >= PACKETS_PER_CLOCK_READ) {
        sinceClock = 0;
        now = monotonicMs();
      }
      const at = writer.offset;
      if (packetToRecord(pkt, length, now, writer.buffer, at, watch) !== 'ok') writer.reject();
      else if (ignore !== null && ignore.ignoresRecord(writer.buffer, at)) writer.skip();
      else writer.commit();
    },
    () => {
      writer.flush();
      sinceClock = PACKETS_PER_CLOCK_READ;
    },
    (err) => fail(messageOf(err)),
  );
  // Answers go to the second stage alone, as records of their own: never through the
  // ignore list (it names sources, and an answer's source is the contacted host). They
  // go out as they are read, although the two handles are read independently and an
  // answer may so precede the contact it answers: the monitor keeps such an answer for
  // that contact (earlyanswers.ts), which no delay here could promise.
  source.startAnswers?.(
    (pkt, length) => {
      const at = writer.offset;
      const verdict = answerToRecord(pkt, length, monotonicMs(), writer.buffer, at, watch);
      // Answers the stage does not use (an error about UDP without --udp, a reset with odd
      // flags, a later fragment behind other extension headers) are ordinary traffic, not
      // packets that failed the header checks.
      if (verdict === 'ok') writer.commit();
      else if (verdict === 'not-watched' || verdict === 'fragment') writer.skip();
      else writer.reject();
    },
    () => writer.flush(),
    (err) => fail(messageOf(err)),
  );
}

export function runCapture(given: Settings, entryScript: string, status: CaptureStatus | null, blame?: Blame): void {
  // The monitor reads no file: it is told the kernel's client port range.
  const settings: Settings = given.udp && given.ephemeralPorts === null ? { ...given, ephemeralPorts: readEphemeralPorts() } : given;
  // The counters request may come at any time, start-up included (and onSigusr1 says
  // why SIGUSR1 is taken first).
  let requestCounters = (): void => {};
  onSigusr1(() => requestCounters());
  closeInheritedFds(settings.statusFd === null ? [] : [settings.statusFd]);
  // The ignore filter is built here, before the drop, and fixed from then on.
  const { account, chrootDir, ignore } = checkStart(settings, entryScript, blame);
  const privdrop = loadPrivDrop();
  // Before anything else starts: a second daemon with the same pidfile goes no further.
  const pidfile = settings.pidfile === null ? null : claimPidfile(settings.pidfile, privdrop);
  const removePidfile = pidfileRemover(pidfile, privdrop);

  // no_new_privs and the start filter are in place since the restart (cli.ts): the
  // monitor inherits both from its first instruction.
  const procctl = loadProcCtl();
  let monitor: Monitor | null = null;
  let source: PacketSource;
  let sandboxed: string;
  try {
    monitor = startMonitor(settings, account, entryScript);
    source = openSource(settings);
    const captureFds = captureSocketFds();
    dropPrivileges(chrootDir, account, systemCalls(privdrop, procctl));
    lockProcess('capture process', procctl);
    warmUpNode();
    const plan = capturePlan(captureFds, process.pid, monitor.child.pid as number, pidfile?.dirFd ?? null);
    sandboxed = describeLayers(enterSandbox(plan, procctl));
  } catch (err) {
    // The start-up error is the one thing to report; the monitor just goes. Without
    // CAP_KILL (the systemd unit's bounding set), root may not signal it before the
    // drop: closing the channel ends it as well.
    if (monitor !== null) {
      try {
        monitor.child.kill('SIGKILL');
      } catch {
        monitor.channel.destroy();
      }
    }
    removePidfile();
    throw err;
  }

  const life = supervise(monitor, source, removePidfile);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => life.stop(signal));
  // A SIGHUP stops nothing (the drop leaves nothing to re-open); the monitor says so in
  // syslog when this process, whose pid the pidfile holds, passes it on.
  process.on('SIGHUP', () => life.relaySighup());
  const writer = new ChannelWriter(monitor.channel, { report: stderr, kernelDrops: () => source.kernelDrops() });
  requestCounters = () => {
    if (life.stopping) return;
    writer.flush();
    writer.sendCounters(true);
  };
  if (settings.statsInterval !== null) setInterval(requestCounters, settings.statsInterval).unref();
  // Named like the original daemon, so that ps, pidof and init scripts find it.
  process.title = 'scanlogd';
  stderr(VERSION_LINE);
  stderr(sandboxed);
  forward(source, writer, ignore, settings, (why) => life.fail(why));
  status?.report('ready capture');
  status?.close();
}
