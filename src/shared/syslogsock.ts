// The syslog socket for every program of the package that writes to syslog (the
// monitor, the notifier): a connected Unix datagram socket on the project's addon
// (native/syslogsock.c), every datagram sent with write(2).

import os = require('node:os');
import { loadAddon } from './addon.js';
import type { SyslogHandle, SyslogSock } from '../types/syslogsock.js';

/** The few calls made on a connected Unix datagram socket (native/syslogsock.c's, or a fake). */
export interface DatagramSocket {
  /** Returns 'sent', 'busy' (try again when writable) or an error code string. */
  send(datagram: Buffer): string;
  onWritable(listener: () => void): void;
  close(): void;
}

export type DatagramConnector = (path: string) => DatagramSocket;

/** The addon reports a failed call with an errno number; Node knows the names. */
const errnoNames = new Map<number, string>();
// The first name of a number wins (EAGAIN, not EWOULDBLOCK).
for (const [name, n] of Object.entries(os.constants.errno)) if (!errnoNames.has(n)) errnoNames.set(n, name);

function errnoName(errno: unknown): string {
  const n = typeof errno === 'number' ? errno : NaN;
  return errnoNames.get(n) ?? `errno ${String(n)}`;
}

class SyslogConnectError extends Error {
  readonly code = 'ERR_SCANLOGD_SYSLOG';
}

/** send()'s results besides a negative errno number. */
const SENT = 0;
const BUSY = 1;

/** The one place the addon is loaded: by the monitor before its sandbox, by the notifier when it logs to syslog. */
export function loadSyslogSock(): SyslogSock {
  return loadAddon<SyslogSock>('syslogsock', 'syslog socket addon');
}

/**
 * Connects with the project's addon: every datagram goes out with write(2) on the
 * connected socket, so none can carry a descriptor. Loads the addon now, so that a
 * missing one is a start-up error and not an unreachable syslog.
 */
export function syslogSocketConnector(addon: SyslogSock = loadSyslogSock()): DatagramConnector {
  return (path) => {
    const listeners: Array<() => void> = [];
    let handle: SyslogHandle;
    try {
      handle = addon.connect(path, () => {
        for (const listener of listeners) listener();
      });
    } catch (err) {
      throw new SyslogConnectError(errnoName((err as { errno?: unknown }).errno));
    }
    let open = true;
    return {
      send(datagram) {
        if (!open) return 'EBADF';
        const result = addon.send(handle, datagram);
        if (result === SENT) return 'sent';
        return result === BUSY ? 'busy' : errnoName(-result);
      },
      onWritable(listener) {
        listeners.push(listener);
      },
      close() {
        if (!open) return;
        open = false;
        addon.close(handle);
      },
    };
  };
}
