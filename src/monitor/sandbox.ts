// The monitor's sandbox: it reads the channel, writes its inherited descriptors (the
// --json output, stderr), sends to the syslog socket and reconnects to it after a
// syslog restart (Unix datagram sockets only), and removes the pidfile at a clean stop.
// It cannot open a file, create any other socket, start a process or signal one.

import path = require('node:path');
import { allow, allowIf, deny, nodeRuntime, type SandboxPlan } from '../shared/sandbox.js';

const AF_UNIX = 1;

export function monitorPlan(pidfile: string | null, pid: number): SandboxPlan {
  return {
    who: 'monitor',
    rules: [
      allowIf('socket', 0, [AF_UNIX]),
      ...allow('sendmsg', 'connect', 'unlink'),
      ...deny('kill'),
      ...nodeRuntime(pid),
    ],
    removeFilesBelow: pidfile === null ? null : path.dirname(pidfile),
    scopeSignals: true,
  };
}
