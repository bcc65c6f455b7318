// The structured events the monitor writes as JSON lines and CEE syslog messages
// (schema/events.schema.json): a detected scan, its end, the start and end of a flood
// of suppressed lines, and the counters.

import type { Protocol } from '../shared/record.js';
import type { SyslogVerdict } from './limiter.js';

export type Family = 'ipv4' | 'ipv6';

export type EndReason = 'quiet' | 'entry-reused' | 'bucket-full' | 'tracker-full';

export interface ScanEvent {
  event: 'scan';
  time: number;
  family: Family;
  protocol: Protocol;
  source: string;
  /** Null when it changed between packets. */
  source_port: number | null;
  destinations: string[];
  destinations_truncated: boolean;
  ports: number[];
  /** Only in a syslog event cut to fit one message. */
  ports_truncated?: true;
  flags: string;
  flags_or: number;
  flags_and: number;
  tos: number | null;
  ttl: number | null;
  packets: number;
  first: number;
  last: number;
  syslog: SyslogVerdict;
}

export interface ScanEndEvent {
  event: 'scan_end';
  time: number;
  family: Family;
  protocol: Protocol;
  source: string;
  reason: EndReason;
  first: number;
  last: number;
  duration_ms: number;
  packets: number;
  distinct_ports: number;
  port_ranges: string;
  port_ranges_truncated: boolean;
  destinations: string[];
  destinations_truncated: boolean;
}

export interface SuppressedEvent {
  event: 'suppressed';
  time: number;
  state: 'start' | 'end';
  /** On 'end': scans whose line was not logged (including the one the notice replaced). */
  dropped?: number;
}

/** The counters line's figures, by name. */
export interface CountersEvent {
  event: 'counters';
  time: number;
  [count: string]: number | string;
}

/** Times are wall-clock milliseconds here; the writers turn them into ISO 8601. */
export type MonitorEvent = ScanEvent | ScanEndEvent | SuppressedEvent | CountersEvent;
