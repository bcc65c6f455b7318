// A syslog socket for the tests and the benchmark: a bound Unix datagram socket that
// keeps every datagram.

import fs = require('node:fs');
import path = require('node:path');
import unixDgram = require('unix-dgram');
import { userIds } from './daemon.js';
import { DAEMON_NOTICE } from '../src/shared/logging.js';

export interface SyslogListener {
  path: string;
  /** Every datagram but the daemon's own start, stop and SIGHUP lines (daemon.notice), which scanlogd 2.2.8 never sends. */
  datagrams: string[];
  /** Those daemon.notice lines, in order. */
  notices: string[];
  /** Message bodies: each datagram without "<pri>Mmm dd hh:mm:ss scanlogd: ". */
  messages(): string[];
  close(): void;
}

export const SYSLOG_PREFIX = /^<(\d+)>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) scanlogd: /;

/** A pidfile path in a fresh directory owned by the scanlogd user, which removes it at stop. */
export function makePidfilePath(t: { teardown(fn: () => void): void }): string {
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { uid, gid } = userIds('scanlogd');
  fs.chownSync(dir, uid, gid);
  return path.join(dir, 'scanlogd.pid');
}

/**
 * A private directory that the scanlogd user may enter, below root-owned directories
 * that only root can write (unlike /tmp), so that it can also serve as a chroot base.
 */
export function makeSocketDir(): string {
  const dir = fs.mkdtempSync('/run/scanlogd-test-');
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** `onDatagram`, if given, also sees each datagram with its arrival on CLOCK_MONOTONIC. */
export function listenSyslog(socketPath: string, onDatagram?: (datagram: string, arrivedNs: bigint) => void): SyslogListener {
  fs.rmSync(socketPath, { force: true });
  const datagrams: string[] = [];
  const notices: string[] = [];
  const sock = unixDgram.createSocket('unix_dgram', (msg: Buffer) => {
    const arrivedNs = process.hrtime.bigint();
    const text = msg.toString('latin1');
    if (text.startsWith(`<${DAEMON_NOTICE}>`)) notices.push(text);
    else datagrams.push(text);
    onDatagram?.(text, arrivedNs);
  });
  sock.bind(socketPath);
  fs.chmodSync(socketPath, 0o666);
  let open = true;
  return {
    path: socketPath,
    datagrams,
    notices,
    messages: () => datagrams.map((d) => d.replace(SYSLOG_PREFIX, '')),
    close() {
      if (!open) return;
      open = false;
      sock.close();
      fs.rmSync(socketPath, { force: true });
    },
  };
}
