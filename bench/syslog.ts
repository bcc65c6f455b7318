// A syslog socket that notes when each datagram arrived, on the same clock
// (CLOCK_MONOTONIC) as the generator's send time stamps, for detection latency; and
// which source a logged line is about.

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

/** Whether a scanlogd line is about source `addr` ("ADDR:PORT to ..." or "ADDR to ..."). */
export const fromSource = (m: TimedMessage, addr: string): boolean => m.text.startsWith(`${addr}:`) || m.text.startsWith(`${addr} `);
