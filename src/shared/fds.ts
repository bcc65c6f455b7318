// The descriptor layout of the daemon's processes, in one place, and the closing of
// descriptors a process inherited by accident: whatever its parent left open without
// close-on-exec would otherwise reach the monitor, or outlive the drop.

import fs = require('node:fs');
import { StartupError, messageOf } from './errors.js';

/** In the capture process of a detached start: the launcher's status pipe. */
export const LAUNCHER_STATUS_FD = 3;

/** In the monitor: the channel from the capture process (a socketpair end). */
export const CHANNEL_FD = 3;
/** In the monitor of a detached start: its copy of the launcher's status pipe. */
export const MONITOR_STATUS_FD = 4;
/** In the monitor: the --json output the capture process opened for it. */
export const MONITOR_JSON_FD = 5;
/**
 * In the monitor with --slow-scans: this host's socket tables (/proc/net/tcp and the
 * others), opened by the capture process, from this descriptor on, in the order its
 * --socket-tables setting lists them.
 */
export const MONITOR_SOCKET_TABLES_FD = 6;

/** The kernel's socket tables, by their file name under /proc/net. */
export type SocketTable = 'tcp' | 'tcp6' | 'udp' | 'udp6';
export const SOCKET_TABLES: readonly SocketTable[] = ['tcp', 'tcp6', 'udp', 'udp6'];

/** Linux's value: Node names O_CLOEXEC nowhere. */
const O_CLOEXEC = 0o2000000;

/**
 * Closes every descriptor above 2 that is not close-on-exec and not in `keep`.
 * Node's own descriptors are all close-on-exec, so what remains was inherited.
 * Returns the descriptors closed.
 */
export function closeInheritedFds(keep: readonly number[]): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc/self/fd');
  } catch {
    return []; // no /proc: nothing to inspect
  }
  const closed: number[] = [];
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2 || keep.includes(fd)) continue;
    let flags: number;
    try {
      const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
      flags = parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
    } catch {
      continue; // the descriptor of the directory listing itself, already gone
    }
    if ((flags & O_CLOEXEC) !== 0) continue;
    try {
      fs.closeSync(fd);
      closed.push(fd);
    } catch {
      // Closed in between: the goal is reached.
    }
  }
  return closed;
}

/** What each of this process's descriptors is (its /proc/self/fd link), for `who`'s start-up checks. */
export function descriptorTargets(who: string): Map<number, string> {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc/self/fd');
  } catch (err) {
    throw new StartupError(`${who}: cannot list its descriptors: ${messageOf(err)}`, { cause: err });
  }
  const targets = new Map<number, string>();
  for (const entry of entries) {
    try {
      targets.set(Number(entry), fs.readlinkSync(`/proc/self/fd/${entry}`));
    } catch {
      // The directory's own descriptor, closed by now.
    }
  }
  return targets;
}

/**
 * Stops the start if this process holds an io_uring: work submitted to a ring runs
 * without seccomp's checks, with the credentials of the ring's creator. The start
 * filter keeps the runtime from making one (src/capture/restart.ts); this is the check
 * that it did. A process that cannot list its descriptors cannot tell, and stops too.
 */
export function refuseIoUring(who: string): void {
  for (const [fd, target] of descriptorTargets(who)) {
    if (target === 'anon_inode:[io_uring]')
      throw new StartupError(`${who}: descriptor ${fd} is an io_uring, which the sandbox cannot cover`);
  }
}
