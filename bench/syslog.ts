// A syslog socket that notes when each datagram arrived, on the same clock
// (CLOCK_MONOTONIC) as the generator's send time stamps, for detection latency.

import { listenSyslog, SYSLOG_PREFIX } from '../harness/syslog.js';

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
  const messages: TimedMessage[] = [];
  const listener = listenSyslog(socketPath, (datagram, arrivedNs) => {
    messages.push({ text: datagram.replace(SYSLOG_PREFIX, ''), arrivedNs });
  });
  return { path: listener.path, messages, close: () => listener.close() };
}
