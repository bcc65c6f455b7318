// The daemons under test behind one shape: ours (capture + monitor processes) with the
// raw socket and with libpcap on the target's device (--interface), and Debian's
// scanlogd 2.2.8 (one process), each started in the target namespace with its own
// syslog socket, through harness/daemon.ts.

import type { Testbed } from '../harness/netns.js';
import { isAlive, startOurs, startReference } from '../harness/daemon.js';

/**
 * `baseline`: another build of ours (raw socket), to compare a change with what came
 * before. `ours/slow`: ours (raw socket) with the second stage on (--slow-scans), to
 * state what the stage costs against `ours` on the same packets. Neither runs unless asked.
 */
export type DaemonKind = 'ours' | 'ours/pcap' | 'reference' | 'baseline' | 'ours/slow';
export const DAEMON_KINDS: readonly DaemonKind[] = ['ours', 'ours/pcap', 'reference'];
export const isOurs = (kind: DaemonKind): boolean => kind !== 'reference';

export interface DaemonProcess {
  role: 'capture' | 'monitor' | 'scanlogd';
  pid: number;
}

export interface BenchDaemon {
  kind: DaemonKind;
  processes: DaemonProcess[];
  /** The process that holds the capture socket. */
  socketPid: number;
  /** Whether that is a raw socket (else a libpcap handle, whose drops only `captureDrops` tells). */
  rawSocket: boolean;
  /** libpcap's kernel drops, as our capture process reports them at a clean stop (after stop()). */
  captureDrops(): number | null;
  /** Records our capture process reported dropping because the monitor fell behind. */
  channelDrops(): number;
  /** What the daemon wrote on standard error (ours; the reference logs only to syslog). */
  stderr(): string;
  /** Throws, naming the process, if one of the daemon's processes has ended. */
  checkAlive(): void;
  stop(): Promise<void>;
}

const running = new Set<BenchDaemon>();

function checkAlive(d: BenchDaemon): void {
  for (const p of d.processes) {
    if (!isAlive(p.pid)) {
      const err = d.stderr().trim();
      throw new Error(`${d.kind} daemon: ${p.role} process ${p.pid} has ended${err === '' ? '' : `; its standard error:\n${err}`}`);
    }
  }
}

/** Stops every daemon still running (for an interrupted benchmark). */
export async function stopAllDaemons(): Promise<void> {
  await Promise.allSettled([...running].map((d) => d.stop()));
}

/**
 * Starts a daemon and waits until it runs. `extraArgs` are daemon options (ours only);
 * `nodeArgs` go to node before our entry script (the capture process only: the
 * monitor is started by the capture process itself); `baseline` is the entry script
 * of the build the `baseline` daemon runs.
 */
export async function startDaemon(
  kind: DaemonKind,
  bed: Testbed,
  syslogPath: string,
  extraArgs: string[] = [],
  nodeArgs: string[] = [],
  baseline: string | null = null,
): Promise<BenchDaemon> {
  if (kind !== 'reference') {
    if (kind === 'baseline' && baseline === null) throw new Error('the baseline daemon needs --baseline ENTRY_SCRIPT');
    const capture = kind === 'ours/pcap' ? ['--interface', bed.targetDev] : [];
    // A workload may turn the stage on itself (MEM-slow).
    const stage = kind === 'ours/slow' && !extraArgs.includes('--slow-scans') ? ['--slow-scans'] : [];
    const d = startOurs(bed, ['--foreground', '--syslog-socket', syslogPath, ...capture, ...stage, ...extraArgs], {
      nodeArgs,
      ...(kind === 'baseline' && baseline !== null ? { entry: baseline } : {}),
    });
    let stopped = false;
    const daemon: BenchDaemon = {
      kind,
      processes: [],
      socketPid: d.pid,
      rawSocket: kind !== 'ours/pcap',
      captureDrops: () => {
        const m = /libpcap on \S+: \d+ packets passed the kernel filter, (\d+) dropped by the kernel/.exec(d.stderr());
        return m === null ? null : Number(m[1]);
      },
      channelDrops: () =>
        [...d.stderr().matchAll(/monitor fell behind: (\d+) (?:records|packets) dropped/g)].reduce((n, m) => n + Number(m[1]), 0),
      stderr: () => d.stderr(),
      checkAlive: () => checkAlive(daemon),
      async stop() {
        if (stopped) return;
        stopped = true;
        await d.kill();
        running.delete(daemon);
      },
    };
    running.add(daemon);
    try {
      const { capturePid, monitorPid } = await d.ready();
      daemon.processes.push({ role: 'capture', pid: capturePid }, { role: 'monitor', pid: monitorPid });
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return daemon;
  }
  if (extraArgs.length > 0) throw new Error('the reference takes no options here');
  const r = await startReference(bed, syslogPath);
  let stopped = false;
  const daemon: BenchDaemon = {
    kind,
    processes: [{ role: 'scanlogd', pid: r.pid }],
    socketPid: r.pid,
    rawSocket: true,
    captureDrops: () => null,
    channelDrops: () => 0,
    stderr: () => '',
    checkAlive: () => checkAlive(daemon),
    async stop() {
      if (stopped) return;
      stopped = true;
      await r.stop();
      running.delete(daemon);
    },
  };
  running.add(daemon);
  return daemon;
}
