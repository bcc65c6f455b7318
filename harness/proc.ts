// What the benchmark and the flood tests read from /proc: CPU time and peak memory of
// a process, and, inside a network namespace, the raw sockets' queues and drop counters
// and how many IP packets the stack delivered.

import childProcess = require('node:child_process');
import fs = require('node:fs');

/** Clock ticks per second of utime/stime in /proc/PID/stat. */
export const CLOCK_TICKS = ((): number => {
  const r = childProcess.spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(String(r.stdout).trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

export interface CpuTime {
  /** utime + stime from /proc/PID/stat, in microseconds (tick resolution). */
  statUs: number;
  /** Time on CPU from /proc/PID/schedstat, in microseconds (nanosecond resolution). */
  schedUs: number;
}

export function cpuTime(pid: number): CpuTime {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const sched = fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ');
  return { statUs: (ticks * 1e6) / CLOCK_TICKS, schedUs: Number(sched[0]) / 1000 };
}

export interface Memory {
  /** Peak resident set (VmHWM), kB. */
  hwmKb: number;
  /** Current resident set (VmRSS), kB. */
  rssKb: number;
  /**
   * Current proportional set size, kB: shared pages (the node binary, which both our
   * processes map) divided among the processes that map them.
   */
  pssKb: number;
}

export function memory(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  let pssKb = NaN;
  try {
    pssKb = kb(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
  } catch {
    // Older kernels have no smaps_rollup; PSS is extra information only.
  }
  return { hwmKb: kb(status, 'VmHWM'), rssKb: kb(status, 'VmRSS'), pssKb };
}

/** What each descriptor of a process is, from the links in /proc/PID/fd. */
function fdTargets(pid: number | 'self'): Map<number, string> {
  const targets = new Map<number, string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      targets.set(Number(fd), fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Closed meanwhile.
    }
  }
  return targets;
}

/** Inodes of the sockets a process holds. */
export function socketInodes(pid: number | 'self'): Set<number> {
  const inodes = new Set<number>();
  for (const target of fdTargets(pid).values()) {
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m !== null) inodes.add(Number(m[1]));
  }
  return inodes;
}

/** The io_uring descriptors a process holds. */
export function ioUringFds(pid: number): number[] {
  return [...fdTargets(pid)].filter(([, target]) => target === 'anon_inode:[io_uring]').map(([fd]) => fd);
}

/** The packet sockets (inodes) a process holds, from the packet table of its namespace. */
export function packetSocketsOf(pid: number | 'self'): number[] {
  const table = fs.readFileSync(`/proc/${pid}/net/packet`, 'utf8').trim().split('\n').slice(1);
  const packet = new Set(table.map((l) => Number(l.trim().split(/\s+/)[8])));
  return [...socketInodes(pid)].filter((inode) => packet.has(inode));
}

/**
 * The descriptors under which a process holds raw or packet sockets (the capture
 * process's capture sockets), from the tables of its own network namespace.
 */
export function captureSocketFds(pid: number): number[] {
  const inodes = new Set<string>();
  for (const [file, column] of [
    ['raw', 9],
    ['raw6', 9],
    ['packet', 8],
  ] as const) {
    for (const row of fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8').trim().split('\n').slice(1)) {
      const inode = row.trim().split(/\s+/)[column];
      if (inode !== undefined) inodes.add(inode);
    }
  }
  return [...fdTargets(pid)].filter(([, target]) => inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '')).map(([fd]) => fd);
}

/** What descriptor `fd` of a process is (a path, socket:[INODE], pipe:[INODE], ...) and its open flags. */
export function descriptorOf(pid: number, fd: number): { target: string; flags: number } {
  const fdinfo = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
  return { target: fs.readlinkSync(`/proc/${pid}/fd/${fd}`), flags: parseInt(/^flags:\s*([0-7]+)/m.exec(fdinfo)?.[1] ?? '0', 8) };
}

/** Every descriptor of a process and what it is. */
export function descriptorsOf(pid: number): Map<number, string> {
  return fdTargets(pid);
}

/** A file of /proc/net as seen inside namespace `ns`. */
function netFile(ns: string, file: string): string {
  const r = childProcess.spawnSync('ip', ['netns', 'exec', ns, 'cat', `/proc/net/${file}`], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) throw new Error(`reading /proc/net/${file} in ${ns}: ${String(r.stderr)}`);
  return String(r.stdout);
}

export interface RawSocketState {
  inode: number;
  /** Bytes waiting in the receive queue. */
  rxQueue: number;
  /** Packets the socket dropped since it was opened (full receive buffer, mostly). */
  drops: number;
}

/** The raw sockets of /proc/net/raw (and raw6) inside `ns`, by inode. */
export function rawSockets(ns: string): Map<number, RawSocketState> {
  const sockets = new Map<number, RawSocketState>();
  for (const line of [...netFile(ns, 'raw').split('\n').slice(1), ...netFile(ns, 'raw6').split('\n').slice(1)]) {
    // sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const inode = Number(f[9]);
    sockets.set(inode, { inode, rxQueue: parseInt(f[4]?.split(':')[1] ?? '0', 16), drops: Number(f[12]) });
  }
  return sockets;
}

/**
 * `pid`'s raw sockets in `ns` by lane ("tcp4", "udp6"...): the family from the table
 * (raw or raw6), the protocol from the local address's "port" column.
 */
export function rawSocketsByLane(ns: string, pid: number): Map<string, RawSocketState> {
  const mine = socketInodes(pid);
  const lanes = new Map<string, RawSocketState>();
  for (const [file, family] of [
    ['raw', 4],
    ['raw6', 6],
  ] as const) {
    for (const line of netFile(ns, file).split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13 || !mine.has(Number(f[9]))) continue;
      const protocol = parseInt(f[1]?.split(':')[1] ?? '', 16) === 17 ? 'udp' : 'tcp';
      lanes.set(`${protocol}${family}`, { inode: Number(f[9]), rxQueue: parseInt(f[4]?.split(':')[1] ?? '0', 16), drops: Number(f[12]) });
    }
  }
  return lanes;
}

/** The raw socket among `pid`'s descriptors (the daemon's capture socket). */
export function rawSocketOf(ns: string, pid: number): RawSocketState {
  const mine = socketInodes(pid);
  const found = [...rawSockets(ns).values()].filter((s) => mine.has(s.inode));
  if (found.length !== 1) throw new Error(`process ${pid} holds ${found.length} raw sockets in ${ns}, expected 1`);
  return found[0] as RawSocketState;
}

/**
 * Every raw socket among `pid`'s descriptors (with --udp and --ipv6 the capture
 * process holds several), their queues and drops summed.
 */
export function rawSocketsOf(ns: string, pid: number): { sockets: number; rxQueue: number; drops: number } {
  const mine = socketInodes(pid);
  const found = [...rawSockets(ns).values()].filter((s) => mine.has(s.inode));
  if (found.length === 0) throw new Error(`process ${pid} holds no raw socket in ${ns}`);
  return { sockets: found.length, rxQueue: found.reduce((n, s) => n + s.rxQueue, 0), drops: found.reduce((n, s) => n + s.drops, 0) };
}

/** One counter of the Ip line of /proc/net/snmp inside `ns`. */
function ipCounter(ns: string, name: string): number {
  const lines = netFile(ns, 'snmp')
    .split('\n')
    .filter((l) => l.startsWith('Ip: '));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  const i = names.indexOf(name);
  if (i < 0) throw new Error(`no Ip ${name} in /proc/net/snmp of ${ns}`);
  return Number(values[i]);
}

/** One counter of /proc/net/snmp6 inside `ns`. */
function ip6Counter(ns: string, name: string): number {
  const m = new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(netFile(ns, 'snmp6'));
  if (m === null) throw new Error(`no ${name} in /proc/net/snmp6 of ${ns}`);
  return Number(m[1]);
}

/** IP packets the stack in `ns` delivered to its protocols (Ip InDelivers, plus Ip6InDelivers). */
export function ipDelivered(ns: string): number {
  return ipCounter(ns, 'InDelivers') + ip6Counter(ns, 'Ip6InDelivers');
}

/**
 * IP packets that reached the stack in `ns` at all, before any check or protocol
 * (IpInReceives, Ip6InReceives): what came over its links.
 */
export function ipReceived(ns: string): { ipv4: number; ipv6: number } {
  return { ipv4: ipCounter(ns, 'InReceives'), ipv6: ip6Counter(ns, 'Ip6InReceives') };
}

/**
 * What the kernel dropped on `pid`'s raw sockets in `ns` because the process did not
 * read them in time (the drops column of /proc/net/raw and raw6), in words for a
 * failed test's message.
 */
export function kernelDropsOf(ns: string, pid: number): string {
  let sockets: ReturnType<typeof rawSocketsOf>;
  try {
    sockets = rawSocketsOf(ns, pid);
  } catch (err) {
    return `no kernel drop count: ${err instanceof Error ? err.message : String(err)}`;
  }
  return `the kernel dropped ${sockets.drops} packets on the ${sockets.sockets} raw socket(s) of process ${pid} (drops in /proc/net/raw and raw6), ${sockets.rxQueue} bytes still queued`;
}

/** `waiting`, with what the kernel dropped on `pid`'s raw sockets added to its error if it fails. */
export async function withKernelDrops<T>(ns: string, pid: number, waiting: Promise<T>): Promise<T> {
  try {
    return await waiting;
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; ${kernelDropsOf(ns, pid)}`, { cause: err });
  }
}

/** Busy and total CPU time of the whole machine so far (all CPUs), microseconds. */
export function machineCpu(): { busyUs: number; totalUs: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const tick = 1e6 / CLOCK_TICKS;
  const busy = user + nice + system + irq + softirq + steal;
  return { busyUs: busy * tick, totalUs: (busy + idle + iowait) * tick };
}
