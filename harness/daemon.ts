// Starting, watching and stopping the daemons under test: ours (both processes) and
// the reference scanlogd 2.2.8, each inside the target namespace of a testbed.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import type { Testbed } from './netns.js';
import { waitFor, sleep } from './netns.js';

/** The repository root, seen from dist/harness. */
export const REPO = path.resolve(__dirname, '..', '..');
let staged: string | null = null;

/**
 * The daemon's entry as the tests start it. As root, the root-owned copy that
 * scripts/stage.sh makes, the one npm start runs: the monitor runs as user scanlogd
 * and loads its code from the entry's tree, which a clone in root's home would keep
 * out of its reach. Otherwise the tree's own.
 */
export function entryScript(): string {
  if (process.getuid?.() !== 0) return path.join(REPO, 'bin', 'scanlogd.js');
  staged ??= childProcess.execFileSync('sh', [path.join(REPO, 'scripts', 'stage.sh')], { encoding: 'utf8' }).trim();
  return staged;
}
export const REFERENCE = process.env['SCANLOGD_REFERENCE'] ?? path.join(REPO, '.reference', 'usr', 'sbin', 'scanlogd');

export interface ProcStatus {
  uid: number[];
  gid: number[];
  groups: number[];
  capInh: string;
  capPrm: string;
  capEff: string;
  ppid: number;
  /** Signals the process has a handler for (bit n-1 for signal n). */
  sigCgt: bigint;
}

export function readStatus(pid: number): ProcStatus | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): string => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const numbers = (s: string): number[] => (s === '' ? [] : s.split(/\s+/).map(Number));
  if (field('State').startsWith('Z')) return undefined;
  return {
    uid: numbers(field('Uid')),
    gid: numbers(field('Gid')),
    groups: numbers(field('Groups')),
    capInh: field('CapInh'),
    capPrm: field('CapPrm'),
    capEff: field('CapEff'),
    ppid: Number(field('PPid')),
    sigCgt: BigInt(`0x${field('SigCgt') || '0'}`),
  };
}

export function isAlive(pid: number): boolean {
  return readStatus(pid) !== undefined;
}

/**
 * Signals `pid` unless it has already gone. The capture process's SIGTERM ends the monitor
 * too, so a process seen alive a moment before may be gone by the time it is signalled.
 */
export function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** The credentials a process was exec'd with, from its ELF auxiliary vector. */
export function execCredentials(pid: number): { uid: number; euid: number; gid: number; egid: number } {
  const auxv = fs.readFileSync(`/proc/${pid}/auxv`);
  const found: Record<number, number> = {};
  for (let off = 0; off + 16 <= auxv.length; off += 16) {
    const type = Number(auxv.readBigUInt64LE(off));
    if (type === 0) break;
    found[type] = Number(auxv.readBigUInt64LE(off + 8));
  }
  return { uid: found[11] ?? -1, euid: found[12] ?? -1, gid: found[13] ?? -1, egid: found[14] ?? -1 };
}

export function userIds(name: string): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (line === undefined) throw new Error(`no user ${name}`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export interface OurDaemon {
  pid: number;
  child: childProcess.ChildProcess;
  stderr(): string;
  /**
   * Waits up to `timeoutMs` until what both processes wrote to stderr matches `pattern`:
   * a line written just before an event the test saw (a process name, a datagram) can
   * reach the test a little after it. False if it never came.
   */
  said(pattern: RegExp, timeoutMs?: number): Promise<boolean>;
  /** Both processes have exited and everything they wrote has been read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until the capture process has dropped privileges and the monitor runs. */
  ready(): Promise<{ capturePid: number; monitorPid: number }>;
  monitorPid(): number | undefined;
  /** Ends both processes (SIGTERM, then SIGKILL), whatever state they are in. */
  kill(): Promise<void>;
}

/**
 * `entry`: another build's entry script (a benchmark's baseline); this tree's staged copy
 * by default. `env`: the daemon's environment instead of this process's. `wrap`: a
 * command that runs its arguments (and execs them, so that the pid stays the daemon's),
 * such as `unshare -m`.
 */
export function startOurs(
  bed: Testbed | null,
  args: string[],
  options: { uid?: number; nodeArgs?: string[]; entry?: string; env?: NodeJS.ProcessEnv; wrap?: string[] } = {},
): OurDaemon {
  const node = [...(options.wrap ?? []), process.execPath, ...(options.nodeArgs ?? []), options.entry ?? entryScript(), ...args];
  const command = bed === null ? node : ['ip', 'netns', 'exec', bed.target, ...node];
  const child = childProcess.spawn(command[0] as string, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': the output may still be unread when 'exit' comes.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid as number;
  const { uid: scanlogdUid } = userIds('scanlogd');
  const monitorPid = (): number | undefined => childrenOf(pid)[0];
  return {
    pid,
    child,
    exited,
    stderr: () => err,
    said: (pattern, timeoutMs = 5000) =>
      waitFor(`${String(pattern)} on stderr`, () => (pattern.test(err) ? true : undefined), timeoutMs).catch(() => false),
    monitorPid,
    async ready() {
      return waitFor(
        `daemon ${pid} to drop privileges (stderr: ${err})`,
        () => {
          const status = readStatus(pid);
          const monitor = monitorPid();
          if (status?.uid[0] !== scanlogdUid || monitor === undefined) return undefined;
          // Each process names itself once it is fully set up.
          if (commandLine(pid) !== 'scanlogd' || commandLine(monitor) !== 'scanlogd-monitor') return undefined;
          return { capturePid: pid, monitorPid: monitor };
        },
        10000,
      );
    },
    async kill() {
      const monitor = monitorPid();
      for (const p of [pid, monitor]) if (p !== undefined) signalIfAlive(p, 'SIGTERM');
      await Promise.race([exited, sleep(2000)]);
      for (const p of [pid, monitor]) if (p !== undefined) signalIfAlive(p, 'SIGKILL');
      await exited;
    },
  };
}

export interface ReferenceDaemon {
  /** The daemon itself, inside its own pid namespace. */
  pid: number;
  stop(): Promise<void>;
}

function netnsInode(pid: number): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return undefined;
  }
}

/**
 * Runs Debian's scanlogd 2.2.8 in the target namespace, in a private mount namespace
 * whose /dev/log is `socketPath`, and in a private pid namespace, so that ending the
 * wrapper ends the daemon however it detached.
 */
export async function startReference(bed: Testbed, socketPath: string): Promise<ReferenceDaemon> {
  if (!fs.existsSync(REFERENCE)) throw new Error(`reference scanlogd not found at ${REFERENCE} (run scripts/test-setup.sh)`);
  const script = [
    'mount -t tmpfs -o mode=755 tmpfs /dev',
    'mknod -m 666 /dev/null c 1 3',
    `ln -s '${socketPath}' /dev/log`,
    `'${REFERENCE}'`,
    'exec sleep 3600',
  ].join(' && ');
  const wrapper = childProcess.spawn(
    'ip',
    ['netns', 'exec', bed.target, 'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', 'sh', '-c', script],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  wrapper.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<void>((resolve) => wrapper.on('exit', () => resolve()));
  const referenceReal = fs.realpathSync(REFERENCE);
  // scanlogd drops root and calls setsid() before it forks, so for a moment its parent
  // looks just like the daemon, and then exits: a candidate counts once it has stayed.
  let candidate: number | undefined;
  const daemonPid = await waitFor(
    `reference scanlogd to start (${err})`,
    () => {
      if (candidate !== undefined && isAlive(candidate)) return candidate;
      candidate = undefined;
      for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        const p = Number(entry);
        let exe: string;
        try {
          exe = fs.readlinkSync(`/proc/${p}/exe`);
        } catch {
          continue;
        }
        if (exe === referenceReal && netnsInode(p) === bed.targetInode && readStatus(p)?.uid[0] !== 0) {
          candidate = p;
          return undefined;
        }
      }
      return undefined;
    },
    10000,
    200,
  );
  return {
    pid: daemonPid,
    async stop() {
      // unshare ignores SIGTERM while it waits; its death SIGKILLs the namespace's init.
      wrapper.kill('SIGKILL');
      await Promise.race([done, sleep(3000)]);
      await waitFor('reference scanlogd to end', () => (isAlive(daemonPid) ? undefined : true), 3000);
    },
  };
}
