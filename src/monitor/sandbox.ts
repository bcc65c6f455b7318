// The monitor's sandbox: it reads the channel, writes its inherited descriptors (the
// --json output, stderr), writes to the syslog socket and reconnects to it after a
// syslog restart (Unix datagram sockets only). With --slow-scans it reads the socket
// tables it inherited, from their start each time. It cannot open or remove a file
// (the pidfile is the capture process's), create any other socket, start a process or
// signal one, pass a descriptor to anyone (sendmsg refused), or write its --json output
// anywhere but at the end.

import { Action, DENY, allow, allowIf, deny, newThreads, nodeRuntime, type SandboxPlan } from '../shared/sandbox.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
/** The socket type's bits in socket()'s second argument (the rest are SOCK_NONBLOCK, SOCK_CLOEXEC). */
const SOCK_TYPE_MASK = 0xf;

/**
 * `socketTableFds`: the descriptors of the socket tables (--slow-scans), read with
 * pread64 and nothing else; `eventsFd`: the --json output's, which stays append-only.
 */
export function monitorPlan(pid: number, socketTableFds: readonly number[] = [], eventsFd: number | null = null): SandboxPlan {
  return {
    who: 'monitor',
    rules: [
      // Positional reads of those descriptors only (the runtime's rules allow pread64 on none).
      ...(socketTableFds.length === 0 ? [] : [allowIf('pread64', 0, socketTableFds)]),
      {
        syscall: 'socket',
        clauses: [
          {
            when: [
              { arg: 0, values: [AF_UNIX] },
              { arg: 1, mask: SOCK_TYPE_MASK, values: [SOCK_DGRAM] },
            ],
            action: Action.allow,
          },
        ],
        otherwise: DENY,
      },
      // A reconnect to syslog after a syslog restart (seen on every line).
      ...allow('connect'),
      ...deny('kill'),
      ...newThreads(),
      ...nodeRuntime(pid, eventsFd === null ? [] : [eventsFd]),
    ],
    // Landlock with no rule: no file-system access at all.
    removeFilesBelow: null,
    scopeSignals: true,
  };
}
