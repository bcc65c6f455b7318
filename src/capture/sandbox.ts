// The capture process's sandbox once it has dropped to the scanlogd user: it reads its
// capture sockets, writes records to the monitor and stderr, stops the monitor and, at
// its end, removes its pidfile. It cannot create, connect or configure a socket, send
// on a capture socket in any way, open a file, remove any other, start a process or
// touch another one except to stop its monitor.

import fs = require('node:fs');
import os = require('node:os');
import { StartupError } from '../shared/errors.js';
import { descriptorTargets, refuseIoUring } from '../shared/fds.js';
import { Action, DENY, SIG, allow, deny, denyIf, nodeRuntime, type SandboxPlan } from '../shared/sandbox.js';
import type { SeccompRule } from '../types/procctl.js';
import { RELAYED_SIGHUP } from '../shared/procctl.js';

const AT_SYMLINK_NOFOLLOW = 0x100;

/** /proc/net tables of the sockets a capture backend opens, and the column with each socket's inode. */
const CAPTURE_SOCKET_TABLES: ReadonlyArray<{ file: string; inodeColumn: number }> = [
  { file: '/proc/self/net/raw', inodeColumn: 9 },
  { file: '/proc/self/net/raw6', inodeColumn: 9 },
  { file: '/proc/self/net/packet', inodeColumn: 8 },
];

function socketInodes(file: string, inodeColumn: number): Set<string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return new Set(); // no such family in this kernel
  }
  const rows = text.split('\n').slice(1);
  return new Set(rows.map((row) => row.trim().split(/\s+/)[inodeColumn]).filter((inode): inode is string => inode !== undefined));
}

/**
 * The descriptors of this process's raw and packet sockets: what the capture backend
 * opened. Read as root, before the chroot hides /proc. An io_uring descriptor stops
 * the start.
 */
export function captureSocketFds(): number[] {
  refuseIoUring('capture process');
  const inodes = new Set(CAPTURE_SOCKET_TABLES.flatMap(({ file, inodeColumn }) => [...socketInodes(file, inodeColumn)]));
  const found: number[] = [];
  for (const [fd, target] of descriptorTargets('capture process')) {
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && inodes.has(inode)) found.push(fd);
  }
  if (found.length === 0) throw new StartupError('capture process: sandbox: the capture socket is not among its descriptors');
  return found;
}

/**
 * The pidfile's removal (src/capture/files.ts, releasePidfile): in the directory open
 * at `dirFd` since before the chroot, a look at the entry (fstatat, no link followed)
 * and unlinkat of a file, never a directory (flags 0). Any other removal is refused.
 * Landlock keeps the removal below that directory; seccomp cannot see the name.
 */
function pidfileRemoval(dirFd: number | null, runtime: SeccompRule[]): SeccompRule[] {
  if (dirFd === null) return [...deny('unlinkat'), ...runtime];
  const inDir = { arg: 0, values: [dirFd] };
  const unlinkat: SeccompRule = {
    syscall: 'unlinkat',
    clauses: [{ when: [inDir, { arg: 2, values: [0] }], action: Action.allow }],
    otherwise: DENY,
  };
  // One rule per call: the runtime's fstat rule (AT_EMPTY_PATH) gets this clause added.
  const lookAt = { when: [inDir, { arg: 3, values: [AT_SYMLINK_NOFOLLOW] }], action: Action.allow };
  return [unlinkat, ...runtime.map((rule) => (rule.syscall === 'newfstatat' ? { ...rule, clauses: [...rule.clauses, lookAt] } : rule))];
}

/** `pidfileDirFd`: the pidfile's directory, opened before the chroot, or null without a pidfile. */
export function capturePlan(
  captureFds: readonly number[],
  pid: number,
  monitorPid: number,
  pidfileDirFd: number | null = null,
): SandboxPlan {
  return {
    who: 'capture process',
    rules: [
      // The raw sockets' reader (native/rawrecv.c; seen on every line).
      ...allow('recvmmsg'),
      // libpcap looks at its ring with poll(2) (timeout 0) and reads its counters
      // (PACKET_STATISTICS) for the stop line and SIGUSR1 (seen on every line, --interface).
      ...allow('poll', 'getsockopt'),
      // The channel's end at a stop (seen on every line).
      ...allow('shutdown'),
      // The channel and stderr, never a capture socket: a packet socket sends what is
      // written to it.
      denyIf('write', 0, captureFds),
      denyIf('writev', 0, captureFds),
      // Stopping the monitor with the signal this process got (SIGTERM or SIGINT), or
      // SIGKILL, and passing on a SIGHUP; no other process, no other signal.
      {
        syscall: 'kill',
        clauses: [
          {
            when: [
              { arg: 0, values: [monitorPid] },
              { arg: 1, values: [SIG.none, SIG.SIGTERM, SIG.SIGKILL, os.constants.signals.SIGINT, os.constants.signals[RELAYED_SIGHUP]] },
            ],
            action: Action.allow,
          },
        ],
        otherwise: DENY,
      },
      // Its monitor's exit status (libuv's waitpid; seen on every line).
      ...allow('wait4'),
      ...deny('socket', 'connect', 'unlink'),
      ...pidfileRemoval(pidfileDirFd, nodeRuntime(pid, [])),
    ],
    // Chrooted to an empty directory already; Landlock takes the rest but the pidfile's
    // removal (a descriptor opened before the chroot reaches outside it).
    removeFilesBelow: pidfileDirFd,
    // Its monitor is outside its domain, and must still be stopped.
    scopeSignals: false,
  };
}
