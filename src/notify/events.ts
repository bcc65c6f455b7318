// One line of the events file to what a notification needs from it. The file is
// written by the daemon, but a line can still be cut by a full disk or a crash, or
// garbled by hand: any line that is not a whole event is a verdict, never a throw.

export type Protocol = 'tcp' | 'udp';

/** What the notifier keeps of a `scan` event. */
export interface ScanNote {
  event: 'scan';
  /** Events written before --udp existed have no protocol: TCP. */
  protocol: Protocol;
  source: string;
  destinations: string[];
  ports: number[];
  /** Times as the daemon wrote them: ISO 8601 local time. */
  first: string;
  last: string;
  packets: number;
}

/** What it keeps of a `scan_end` event: how far the scan went. */
export interface ScanEndNote {
  event: 'scan_end';
  protocol: Protocol;
  source: string;
  destinations: string[];
  portRanges: string;
  distinctPorts: number;
  packets: number;
  first: string;
  last: string;
}

export interface SuppressedNote {
  event: 'suppressed';
  state: 'start' | 'end';
  time: string;
  dropped: number | null;
}

/** What it keeps of the second stage's events (--slow-scans): a slow scan or a sweep. */
export interface SlowNote {
  event: 'slow_scan' | 'sweep';
  /** A slow scan's may be both. */
  protocols: Protocol[];
  source: string;
  destinations: string[];
  /** A slow scan's closed ports; a sweep's one port. */
  ports: number[];
  /** Failed first contacts; for a sweep, the hosts its port failed on. */
  count: number;
  first: string;
  last: string;
}

export type Note = ScanNote | ScanEndNote | SuppressedNote | SlowNote;

export type LineVerdict = { kind: 'note'; note: Note } | { kind: 'skip' } | { kind: 'bad'; why: string };

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
/** RFC 5952 text as the daemon writes it with --ipv6 (lowercase hex, colons, maybe a dotted tail). */
const IPV6 = /^(?=.*:)[0-9a-f:.]{2,45}$/;

function field<T>(o: Record<string, unknown>, name: string, ok: (v: unknown) => v is T): T {
  const v = o[name];
  if (!ok(v)) throw new Error(`"${name}" is missing or malformed`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown): v is string => typeof v === 'string' && ISO_TIME.test(v);
const isAddress = (v: unknown): v is string => typeof v === 'string' && (IPV4.test(v) || IPV6.test(v));
const isProtocol = (v: unknown): v is Protocol => v === 'tcp' || v === 'udp';

function protocolOf(o: Record<string, unknown>): Protocol {
  return o['protocol'] === undefined ? 'tcp' : field(o, 'protocol', isProtocol);
}
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isAddresses = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every(isAddress);
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
const isProtocols = (v: unknown): v is Protocol[] => Array.isArray(v) && v.length > 0 && v.every(isProtocol);
const isPorts = (v: unknown): v is number[] => Array.isArray(v) && v.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535);

/** Parses one line (without its newline). Counters and unknown event kinds are skipped. */
export function parseLine(line: string): LineVerdict {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { kind: 'bad', why: `not JSON (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'bad', why: 'not a JSON object' };
  const o = value as Record<string, unknown>;
  try {
    switch (field(o, 'event', isString)) {
      case 'scan':
        return {
          kind: 'note',
          note: {
            event: 'scan',
            protocol: protocolOf(o),
            source: field(o, 'source', isAddress),
            destinations: field(o, 'destinations', isAddresses),
            ports: field(o, 'ports', isPorts),
            first: field(o, 'first', isTime),
            last: field(o, 'last', isTime),
            packets: field(o, 'packets', isCount),
          },
        };
      case 'scan_end':
        return {
          kind: 'note',
          note: {
            event: 'scan_end',
            protocol: protocolOf(o),
            source: field(o, 'source', isAddress),
            destinations: field(o, 'destinations', isAddresses),
            portRanges: field(o, 'port_ranges', isString),
            distinctPorts: field(o, 'distinct_ports', isCount),
            packets: field(o, 'packets', isCount),
            first: field(o, 'first', isTime),
            last: field(o, 'last', isTime),
          },
        };
      case 'slow_scan':
        return {
          kind: 'note',
          note: {
            event: 'slow_scan',
            protocols: field(o, 'protocols', isProtocols),
            source: field(o, 'source', isAddress),
            destinations: field(o, 'destinations', isAddresses),
            ports: field(o, 'ports', isPorts),
            count: field(o, 'failed', isCount),
            first: field(o, 'first', isTime),
            last: field(o, 'last', isTime),
          },
        };
      case 'sweep':
        return {
          kind: 'note',
          note: {
            event: 'sweep',
            protocols: [field(o, 'protocol', isProtocol)],
            source: field(o, 'source', isAddress),
            destinations: field(o, 'destinations', isAddresses),
            ports: [field(o, 'port', isPort)],
            count: field(o, 'hosts', isCount),
            first: field(o, 'first', isTime),
            last: field(o, 'last', isTime),
          },
        };
      case 'suppressed': {
        const state = o['state'];
        if (state !== 'start' && state !== 'end') throw new Error('"state" is missing or malformed');
        return {
          kind: 'note',
          note: { event: 'suppressed', state, time: field(o, 'time', isTime), dropped: isCount(o['dropped']) ? o['dropped'] : null },
        };
      }
      default:
        return { kind: 'skip' };
    }
  } catch (err) {
    return { kind: 'bad', why: `event ${JSON.stringify(o['event'])}: ${(err as Error).message}` };
  }
}
