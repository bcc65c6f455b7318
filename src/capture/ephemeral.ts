// This host's ephemeral port range, where the replies to its own UDP clients land
// (the UDP rule in src/monitor/pipeline.ts). Read as root before the chroot; Linux uses
// the one range for IPv4 and IPv6.

import fs = require('node:fs');
import type { PortRange } from '../shared/networks.js';
import { StartupError, messageOf } from '../shared/errors.js';

export const LOCAL_PORT_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/** "32768\t60999\n" as the kernel writes it. */
export function parseLocalPortRange(text: string, file = LOCAL_PORT_RANGE_FILE): PortRange {
  const m = /^\s*(\d{1,5})\s+(\d{1,5})\s*$/.exec(text);
  const first = m === null ? NaN : Number(m[1]);
  const last = m === null ? NaN : Number(m[2]);
  if (!(first >= 1 && first <= last && last <= 65535)) {
    throw new StartupError(`${file}: not a port range: ${JSON.stringify(text.trim())} (give --ephemeral-ports)`);
  }
  return { first, last };
}

export function readEphemeralPorts(file = LOCAL_PORT_RANGE_FILE): PortRange {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new StartupError(`${file}: ${messageOf(err)} (give --ephemeral-ports)`, { cause: err });
  }
  return parseLocalPortRange(text, file);
}
