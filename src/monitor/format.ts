// The log line of scanlogd 2.2.8: the text of one detected scan. IPv6 and UDP scans
// keep its grammar: an IPv6 source with its port is bracketed (`[2001:db8::2]:40000`),
// and `UDP` stands where a TCP scan has its flags. The second stage's lines have a
// grammar of their own, which no scanlogd line matches.

import { clockTime } from '../shared/syslogframe.js';
import { addressText } from './addresses.js';
import { CHANGING_DADDR, CHANGING_SPORT, CHANGING_TOS, CHANGING_TTL, type Scan } from './engine.js';
import type { SlowReport } from './slowscan.js';

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

/** "45 s" below two minutes, whole minutes from there. */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min`;
}

/**
 * `head` and as many of `items` as fit in `maxLength` (0: no limit), then `tail`. When
 * items are left out, "..." stands for them; at least one stays.
 */
function fitted(head: string, items: string[], tail: string, maxLength: number): string {
  for (let n = items.length; ; n--) {
    const list = n < items.length ? [...items.slice(0, n), '...'] : items;
    const text = `${head}${list.join(', ')}, ${tail}`;
    if (maxLength === 0 || text.length <= maxLength || n <= 1) return text;
  }
}

/**
 * The line of a second-stage report:
 *
 *   saddr to daddr[ and others,] slow scan: N closed ports over D, ports p1, p2, ..., PROTO @HH:MM:SS
 *   saddr swept port P on N hosts over D, daddr1, daddr2, ..., PROTO @HH:MM:SS
 *
 * D is "S s" or "M min" from the first contact to the last failed one, PROTO is TCP,
 * UDP or TCP+UDP, the time is the first contact's. Lists are cut from the end to fit.
 */
export function slowMessage(report: SlowReport, maxLength: number): string {
  const source = addressText(report.saddr);
  const over = durationText(report.last - report.first);
  const time = clockTime(new Date(report.first));
  if (report.kind === 'sweep') {
    const hosts = report.failed.filter((c) => c.port === report.port && c.protocol === report.protocol).map((c) => addressText(c.daddr));
    const head = `${source} swept port ${report.port} on ${report.hosts} hosts over ${over}, `;
    return fitted(head, [...new Set(hosts)], `${report.protocol.toUpperCase()} @${time}`, maxLength);
  }
  const destinations = new Set(report.failed.map((c) => addressText(c.daddr)));
  const first = destinations.values().next().value ?? '';
  const ports = [...new Set(report.failed.map((c) => String(c.port)))];
  const protocols = [...new Set(report.failed.map((c) => c.protocol.toUpperCase()))].sort().join('+');
  const head = `${source} to ${first}${destinations.size > 1 ? ' and others,' : ''} slow scan: ${report.failures} closed ports over ${over}, ports `;
  return fitted(head, ports, `${protocols} @${time}`, maxLength);
}
