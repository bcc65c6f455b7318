// The log line of scanlogd 2.2.8: the text of one detected scan. IPv6 and UDP scans
// keep its grammar: an IPv6 source with its port is bracketed (`[2001:db8::2]:40000`),
// and `UDP` stands where a TCP scan has its flags.

import { clockTime } from '../shared/syslogframe.js';
import { addressText } from './addresses.js';
import { CHANGING_DADDR, CHANGING_SPORT, CHANGING_TOS, CHANGING_TTL, type Scan } from './engine.js';

const FLAG_LETTERS = 'fsrpauxy';

/**
 * One letter per TCP flag bit, FIN first: uppercase when set in every packet,
 * lowercase when set in none, '?' when it changed.
 */
export function flagString(flagsOr: number, flagsAnd: number): string {
  let s = '';
  for (let bit = 0; bit < 8; bit++) {
    const mask = 1 << bit;
    const letter = FLAG_LETTERS[bit] as string;
    if ((flagsOr & mask) === (flagsAnd & mask)) {
      s += flagsOr & mask ? letter.toUpperCase() : letter;
    } else {
      s += '?';
    }
  }
  return s;
}

/** Fixed characters of the line besides the parts measured: " to ", "..., ", " @". */
const FIXED_LENGTH = 4 + 5 + 2;

/**
 * The message body for a scan. When it is longer than `maxLength` (0: no limit),
 * ports are left out from the end, one at a time, until it fits; at least one stays.
 */
export function scanMessage(scan: Scan<number | Uint32Array>, maxLength: number): string {
  const saddr = addressText(scan.saddr);
  const source =
    scan.changing & CHANGING_SPORT ? saddr : typeof scan.saddr === 'number' ? `${saddr}:${scan.sport}` : `[${saddr}]:${scan.sport}`;
  const destHead = `${addressText(scan.daddr)}${scan.changing & CHANGING_DADDR ? ' and others,' : ''} ports `;
  const flags = scan.protocol === 'udp' ? 'UDP' : flagString(scan.flagsOr, scan.flagsAnd);
  const tos = scan.changing & CHANGING_TOS ? '' : `, TOS ${scan.tos.toString(16).padStart(2, '0')}`;
  const ttl = scan.changing & CHANGING_TTL ? '' : `, TTL ${scan.ttl}`;
  const time = clockTime(new Date(scan.start * 1000));

  let limit = scan.ports.length;
  for (;;) {
    let dest = destHead;
    for (let i = 0; i < limit; i++) {
      if (maxLength > 0 && dest.length >= maxLength) {
        limit = i;
        break;
      }
      dest += `${scan.ports[i] as number}, `;
    }
    const length = source.length + dest.length + flags.length + tos.length + ttl.length + time.length + FIXED_LENGTH;
    if (maxLength > 0 && length > maxLength && --limit > 0) continue;
    return `${source} to ${dest}..., ${flags}${tos}${ttl} @${time}`;
  }
}
