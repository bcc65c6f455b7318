// One line of the events file to what a notification needs from it. The daemon writes
// the file, but its monitor parses packets an attacker sends, a disk can fill, and a
// collector can be pointed at it: every line is untrusted. A line is accepted only if
// it is an event exactly as the daemon writes one (src/shared/events.ts): no field
// missing or added, each of the daemon's shape and within its bounds. Anything else is
// a verdict naming the field, never a throw, and never text in a message.

import {
  COUNTERS,
  END_REASONS,
  FAMILIES,
  MAX_DESTINATIONS,
  MAX_PORT_RANGES,
  MAX_SCAN_PORTS,
  OPTIONAL_COUNTERS,
  PORT_RANGE_SEPARATOR,
  PROTOCOLS,
  SYSLOG_VERDICTS,
  type Family,
  type Protocol,
} from '../shared/events.js';
import { AddressError, formatAddress, parseAddress } from '../shared/ipv4.js';
import { formatAddress6, parseAddress6 } from '../shared/ipv6.js';

export type { Protocol };

/** A time as the daemon wrote it (its local time, shown as such) and the instant it names. */
export interface Time {
  text: string;
  ms: number;
}

/** Ports `low` to `high`, both included. */
export interface PortRange {
  low: number;
  high: number;
}

/** What the notifier keeps of a `scan` event. */
export interface ScanNote {
  event: 'scan';
  protocol: Protocol;
  source: string;
  destinations: readonly string[];
  /** More destinations were probed than the event lists. */
  destinationsTruncated: boolean;
  ports: readonly number[];
  first: Time;
  last: Time;
  packets: number;
}

/** What it keeps of a `scan_end` event: how far the scan went. */
export interface ScanEndNote {
  event: 'scan_end';
  protocol: Protocol;
  source: string;
  destinations: readonly string[];
  destinationsTruncated: boolean;
  /** Ascending, apart; the first 64 ranges only when `rangesTruncated`. */
  ranges: readonly PortRange[];
  rangesTruncated: boolean;
  distinctPorts: number;
  packets: number;
  first: Time;
  last: Time;
}

export interface SuppressedNote {
  event: 'suppressed';
  state: 'start' | 'end';
  time: Time;
  dropped: number | null;
}

export type Note = ScanNote | ScanEndNote | SuppressedNote;

/**
 * A note, a counters event (valid, and of no interest to a person), or a refusal: `gist`
 * names what was wrong without the line's own text (a field, "JSON"), `why` says it.
 */
export type LineVerdict = { kind: 'note'; note: Note } | { kind: 'skip' } | { kind: 'bad'; gist: string; why: string };

/** Memory a note holds, in list entries: what a channel's queue is bounded by besides events. */
export function noteWeight(n: Note): number {
  switch (n.event) {
    case 'scan':
      return 1 + n.destinations.length + n.ports.length;
    case 'scan_end':
      return 1 + n.destinations.length + 2 * n.ranges.length;
    case 'suppressed':
      return 1;
  }
}

class Refusal extends Error {
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(why);
  }
}

type Fields = Record<string, unknown>;

const SCAN_FIELDS = [
  'event',
  'time',
  'family',
  'protocol',
  'source',
  'source_port',
  'destinations',
  'destinations_truncated',
  'ports',
  'flags',
  'flags_or',
  'flags_and',
  'tos',
  'ttl',
  'packets',
  'first',
  'last',
  'syslog',
];
const SCAN_END_FIELDS = [
  'event',
  'time',
  'family',
  'protocol',
  'source',
  'reason',
  'first',
  'last',
  'duration_ms',
  'packets',
  'distinct_ports',
  'port_ranges',
  'port_ranges_truncated',
  'destinations',
  'destinations_truncated',
];

/** Exactly the fields `required` (and, if there, those of `optional`): none missing, none added. */
function checkFields(o: Fields, required: readonly string[], optional: readonly string[] = []): void {
  for (const name of required) if (!Object.hasOwn(o, name)) throw new Refusal(name, `"${name}" is missing`);
  const known = required.length + optional.filter((name) => Object.hasOwn(o, name)).length;
  if (Object.keys(o).length !== known) {
    const extra = Object.keys(o).find((k) => !required.includes(k) && !optional.includes(k)) as string;
    // Its name is the sender's text: said only if it is a plain word.
    throw new Refusal('fields', /^[a-z_]{1,40}$/.test(extra) ? `unknown field "${extra}"` : 'an unknown field');
  }
}

function oneOf<T extends string>(o: Fields, name: string, values: readonly T[]): T {
  const v = o[name];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    throw new Refusal(name, `"${name}" is not one of ${values.join(', ')}`);
  return v as T;
}

function integer(o: Fields, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[name];
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    throw new Refusal(name, `"${name}" is not a whole number from ${min} to ${max}`);
  }
  return v as number;
}

function orNull<T>(o: Fields, name: string, read: (o: Fields, name: string) => T): T | null {
  return o[name] === null ? null : read(o, name);
}

function flag(o: Fields, name: string): boolean {
  if (typeof o[name] !== 'boolean') throw new Refusal(name, `"${name}" is not true or false`);
  return o[name];
}

const ISO_TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})([+-])(\d\d):(\d\d)$/;

/** ISO 8601 as the daemon writes it: local time with milliseconds and the zone offset, a real date. */
function time(o: Fields, name: string): Time {
  const v = o[name];
  const m = typeof v === 'string' ? ISO_TIME.exec(v) : null;
  if (m !== null) {
    const [year, month, day, hour, minute, second, milli, sign, offHours, offMinutes] = m.slice(1).map((p, i) => (i === 7 ? p : Number(p)));
    const [y, mo, d] = [year as number, month as number, day as number];
    const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
    if (
      y >= 1000 &&
      mo >= 1 &&
      mo <= 12 &&
      d >= 1 &&
      d <= daysInMonth &&
      (hour as number) <= 23 &&
      (minute as number) <= 59 &&
      (second as number) <= 59 &&
      (offHours as number) <= 23 &&
      (offMinutes as number) <= 59
    ) {
      const offset = ((offHours as number) * 60 + (offMinutes as number)) * 60000 * (sign === '-' ? -1 : 1);
      return {
        text: v as string,
        ms: Date.UTC(y, mo - 1, d, hour as number, minute as number, second as number, milli as number) - offset,
      };
    }
  }
  throw new Refusal(name, `"${name}" is not a time as scanlogd writes it`);
}

/** The longest address text the daemon writes (an IPv6 address in full is 39 characters). */
const MAX_ADDRESS_TEXT = 45;

/** An address of the family, in exactly the form the daemon prints it (dotted quad, RFC 5952). */
function isAddress(v: unknown, family: Family): v is string {
  if (typeof v !== 'string' || v.length > MAX_ADDRESS_TEXT) return false;
  try {
    return family === 'ipv4' ? formatAddress(parseAddress(v)) === v : formatAddress6(parseAddress6(v)) === v;
  } catch (err) {
    if (err instanceof AddressError) return false;
    throw err;
  }
}

function address(o: Fields, name: string, family: Family): string {
  const v = o[name];
  if (!isAddress(v, family))
    throw new Refusal(name, `"${name}" is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address as scanlogd writes it`);
  return v;
}

/** Entries, at least `min` and at most `max`, each accepted by `ok`, none twice (as `seen` tells). */
function list<T>(o: Fields, name: string, min: number, max: number, ok: (v: unknown) => v is T, seen: (v: T) => boolean): T[] {
  const v = o[name];
  if (!Array.isArray(v) || v.length < min || v.length > max) throw new Refusal(name, `"${name}" is not a list of ${min} to ${max} entries`);
  for (const entry of v) {
    if (!ok(entry)) throw new Refusal(name, `"${name}" has an entry that is not one scanlogd writes`);
    if (seen(entry)) throw new Refusal(name, `"${name}" has an entry twice`);
  }
  return v as T[];
}

/** Ports seen in the list being read: one table for every line, so that reading a line of 10,000 ports allocates nothing. */
const portSeen = new Uint8Array(65536);

/** Distinct ports; the table is cleared again whatever the verdict. */
function ports(o: Fields): number[] {
  const v = o['ports'];
  try {
    return list(o, 'ports', 2, MAX_SCAN_PORTS, isPort, (p) => {
      if (portSeen[p] === 1) return true;
      portSeen[p] = 1;
      return false;
    });
  } finally {
    if (Array.isArray(v) && v.length <= MAX_SCAN_PORTS) for (const p of v) if (isPort(p)) portSeen[p] = 0;
  }
}

/** A Set for a short list (destinations, at most 16). */
function seenIn<T>(): (v: T) => boolean {
  const set = new Set<T>();
  return (v) => set.size === set.add(v).size;
}

const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
const isByte = (o: Fields, name: string): number => integer(o, name, 0, 255);

const FLAGS = /^[fF?][sS?][rR?][pP?][aA?][uU?][xX?][yY?]$/;

function destinations(o: Fields, family: Family): { list: string[]; truncated: boolean } {
  const list_ = list(o, 'destinations', 1, MAX_DESTINATIONS, (v): v is string => isAddress(v, family), seenIn<string>());
  const truncated = flag(o, 'destinations_truncated');
  // The daemon stops listing only when the list is full.
  if (truncated && list_.length < MAX_DESTINATIONS)
    throw new Refusal('destinations_truncated', `"destinations_truncated" with fewer than ${MAX_DESTINATIONS} destinations`);
  return { list: list_, truncated };
}

const RANGE = /^(0|[1-9]\d{0,4})(?:-(0|[1-9]\d{0,4}))?$/;

/** "1-20,22,80": at most 64 ranges, ascending, each apart from the next, as the daemon joins them. */
function portRanges(o: Fields): { ranges: PortRange[]; ports: number } {
  const v = o['port_ranges'];
  const fail = (): never => {
    throw new Refusal(
      'port_ranges',
      `"port_ranges" is not up to ${MAX_PORT_RANGES} ascending port ranges joined by "${PORT_RANGE_SEPARATOR}"`,
    );
  };
  // Each range is at most "65534-65535" and its separator.
  if (typeof v !== 'string' || v.length > MAX_PORT_RANGES * 12) return fail();
  const parts = v.split(PORT_RANGE_SEPARATOR);
  if (parts.length > MAX_PORT_RANGES) return fail();
  const ranges: PortRange[] = [];
  let ports = 0;
  let after = -2;
  for (const part of parts) {
    const m = RANGE.exec(part);
    if (m === null) return fail();
    const low = Number(m[1]);
    const high = m[2] === undefined ? low : Number(m[2]);
    if (high > 65535 || low <= after + 1 || (m[2] !== undefined && high <= low)) return fail();
    ranges.push({ low, high });
    ports += high - low + 1;
    after = high;
  }
  return { ranges, ports };
}

function scanNote(o: Fields): ScanNote {
  checkFields(o, SCAN_FIELDS, ['ports_truncated']);
  time(o, 'time');
  const family = oneOf(o, 'family', FAMILIES);
  const protocol = oneOf(o, 'protocol', PROTOCOLS);
  const source = address(o, 'source', family);
  orNull(o, 'source_port', (o, name) => integer(o, name, 0, 65535));
  const dests = destinations(o, family);
  const scanPorts = ports(o);
  if (Object.hasOwn(o, 'ports_truncated') && o['ports_truncated'] !== true)
    throw new Refusal('ports_truncated', '"ports_truncated" is not true');
  if (typeof o['flags'] !== 'string' || !FLAGS.test(o['flags'])) throw new Refusal('flags', '"flags" is not eight flag letters');
  isByte(o, 'flags_or');
  isByte(o, 'flags_and');
  orNull(o, 'tos', isByte);
  orNull(o, 'ttl', isByte);
  oneOf(o, 'syslog', SYSLOG_VERDICTS);
  return {
    event: 'scan',
    protocol,
    source,
    destinations: dests.list,
    destinationsTruncated: dests.truncated,
    ports: scanPorts,
    packets: integer(o, 'packets', 2),
    first: time(o, 'first'),
    last: time(o, 'last'),
  };
}

function scanEndNote(o: Fields): ScanEndNote {
  checkFields(o, SCAN_END_FIELDS);
  time(o, 'time');
  const family = oneOf(o, 'family', FAMILIES);
  const protocol = oneOf(o, 'protocol', PROTOCOLS);
  const source = address(o, 'source', family);
  oneOf(o, 'reason', END_REASONS);
  integer(o, 'duration_ms', 0);
  const distinctPorts = integer(o, 'distinct_ports', 2, 65536);
  const { ranges, ports } = portRanges(o);
  const truncated = flag(o, 'port_ranges_truncated');
  // The ranges name every port counted, or, cut at 64 ranges, fewer.
  if (truncated ? ranges.length !== MAX_PORT_RANGES || ports >= distinctPorts : ports !== distinctPorts) {
    throw new Refusal('distinct_ports', '"distinct_ports" does not match "port_ranges"');
  }
  const dests = destinations(o, family);
  return {
    event: 'scan_end',
    protocol,
    source,
    destinations: dests.list,
    destinationsTruncated: dests.truncated,
    ranges,
    rangesTruncated: truncated,
    distinctPorts,
    packets: integer(o, 'packets', 2),
    first: time(o, 'first'),
    last: time(o, 'last'),
  };
}

function suppressedNote(o: Fields): SuppressedNote {
  const state = oneOf(o, 'state', ['start', 'end'] as const);
  checkFields(o, state === 'start' ? ['event', 'time', 'state'] : ['event', 'time', 'state', 'dropped']);
  return { event: 'suppressed', state, time: time(o, 'time'), dropped: state === 'end' ? integer(o, 'dropped', 1) : null };
}

function checkCounters(o: Fields): void {
  checkFields(o, ['event', 'time', ...COUNTERS], OPTIONAL_COUNTERS);
  time(o, 'time');
  for (const name of [...COUNTERS, ...OPTIONAL_COUNTERS]) if (Object.hasOwn(o, name)) integer(o, name, 0);
}

/** Parses one line (without its newline); the follower has bounded its length. */
export function parseLine(line: string): LineVerdict {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'bad', gist: 'JSON', why: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'bad', gist: 'JSON', why: 'not a JSON object' };
  const o = value as Fields;
  try {
    switch (o['event']) {
      case 'scan':
        return { kind: 'note', note: scanNote(o) };
      case 'scan_end':
        return { kind: 'note', note: scanEndNote(o) };
      case 'suppressed':
        return { kind: 'note', note: suppressedNote(o) };
      case 'counters':
        checkCounters(o);
        return { kind: 'skip' };
      default:
        throw new Refusal('event', '"event" is not one of scan, scan_end, suppressed, counters');
    }
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    const kind = typeof o['event'] === 'string' && /^[a-z_]{1,20}$/.test(o['event']) ? `${o['event']} event` : 'event';
    return { kind: 'bad', gist: err.field, why: `${kind}: ${err.message}` };
  }
}
