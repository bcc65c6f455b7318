// The structured events the monitor writes as JSON lines and CEE syslog messages
// (schema/events.schema.json): a detected scan, its end, the start and end of a flood
// of suppressed lines, and the counters.

import type { Protocol } from '../shared/record.js';
import { addressText } from './addresses.js';
import type { SyslogVerdict } from './limiter.js';
import type { SlowReport } from './slowscan.js';

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

/** What the second stage's two events share: the failed first contacts of one source. */
interface FailedContactsEvent {
  time: number;
  family: Family;
  source: string;
  /** Distinct destinations of the failed contacts remembered, oldest first. */
  destinations: string[];
  /** First contacts counted since the source was first seen: failed, and succeeded. */
  failed: number;
  succeeded: number;
  /** The source's first contact, and its last failed one. */
  first: number;
  last: number;
  duration_ms: number;
  syslog: SyslogVerdict;
}

/** --slow-scans: probes to closed ports of this host (or unanswered ones to another), over a long time. */
export interface SlowScanEvent extends FailedContactsEvent {
  event: 'slow_scan';
  /** The protocols of the failed contacts. */
  protocols: Protocol[];
  /** Distinct ports of the failed contacts remembered, oldest first. */
  ports: number[];
}

/** --slow-scans: one port probed on many hosts. */
export interface SweepEvent extends FailedContactsEvent {
  event: 'sweep';
  protocol: Protocol;
  port: number;
  /** Hosts on which a contact to the port failed. */
  hosts: number;
}

/** Times are wall-clock milliseconds here; the writers turn them into ISO 8601. */
export type MonitorEvent = ScanEvent | ScanEndEvent | SuppressedEvent | CountersEvent | SlowScanEvent | SweepEvent;

/** Each value once, in the order first seen. */
function distinct<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** The event of a second-stage report; `verdict` is what its flood limit did with the line. */
export function slowEvent(report: SlowReport, verdict: SyslogVerdict, wallMs: number): SlowScanEvent | SweepEvent {
  const shared = {
    time: wallMs,
    family: report.family,
    source: addressText(report.saddr),
    failed: report.failures,
    succeeded: report.successes,
    first: report.first,
    last: report.last,
    duration_ms: Math.max(0, report.last - report.first),
    syslog: verdict,
  };
  if (report.kind === 'sweep') {
    const swept = report.failed.filter((c) => c.port === report.port && c.protocol === report.protocol);
    return {
      event: 'sweep',
      ...shared,
      destinations: distinct(swept.map((c) => addressText(c.daddr))),
      protocol: report.protocol,
      port: report.port,
      hosts: report.hosts,
    };
  }
  return {
    event: 'slow_scan',
    ...shared,
    destinations: distinct(report.failed.map((c) => addressText(c.daddr))),
    protocols: distinct(report.failed.map((c) => c.protocol)).sort(),
    ports: distinct(report.failed.map((c) => c.port)),
  };
}
