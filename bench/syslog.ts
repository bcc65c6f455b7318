// A syslog socket that notes when each datagram arrived, on the same clock
// (CLOCK_MONOTONIC) as the generator's send time stamps, for detection latency.

import fs = require('node:fs');
import unixDgram = require('unix-dgram');
import { SYSLOG_PREFIX } from '../test/helpers/syslog.js';

export interface TimedMessage {
  /** The message without "<pri>Mmm dd hh:mm:ss scanlogd: ". */
  text: string;
  arrivedNs: bigint;
}

export interface TimedSyslog {
  path: string;
  messages: TimedMessage[];
  close(): void;
}

export function listenTimedSyslog(socketPath: string): TimedSyslog {
  fs.rmSync(socketPath, { force: true });
  const messages: TimedMessage[] = [];
  const sock = unixDgram.createSocket('unix_dgram', (msg: Buffer) => {
    const arrivedNs = process.hrtime.bigint();
    messages.push({ text: msg.toString('latin1').replace(SYSLOG_PREFIX, ''), arrivedNs });
  });
  sock.bind(socketPath);
  fs.chmodSync(socketPath, 0o666);
  let open = true;
  return {
    path: socketPath,
    messages,
    close() {
      if (!open) return;
      open = false;
      sock.close();
      fs.rmSync(socketPath, { force: true });
    },
  };
}
