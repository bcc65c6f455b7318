// The structured events of scanlogd (schema/events.schema.json), defined once: their
// types, the bounds within which the daemon writes them, and the writer of their JSON
// text. The monitor writes them; scanlogd-notify reads them back within the same bounds.

import { MAX_MAX_PORTS, SLOW_CONTACTS } from './params.js';
import type { Protocol } from './record.js';

export type { Protocol };
export type Family = 'ipv4' | 'ipv6';

export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];

/** What became of a scan's line (also the `syslog` field of its JSON event). */
export type SyslogVerdict = 'logged' | 'flood-notice' | 'suppressed';
export const SYSLOG_VERDICTS: readonly SyslogVerdict[] = ['logged', 'flood-notice', 'suppressed'];

export type EndReason = 'quiet' | 'entry-reused' | 'bucket-full' | 'tracker-full';
export const END_REASONS: readonly EndReason[] = ['quiet', 'entry-reused', 'bucket-full', 'tracker-full'];

/** Distinct destinations kept per source; more are counted as truncated, not stored. */
export const MAX_DESTINATIONS = 16;
/** Port ranges written in a scan_end event at most. */
export const MAX_PORT_RANGES = 64;
/** Between two ranges of `port_ranges` ("1-20,22,80"). */
export const PORT_RANGE_SEPARATOR = ',';
/** A scan event's ports: every port remembered below the threshold, and the one that crossed it. */
export const MAX_SCAN_PORTS = MAX_MAX_PORTS + 1;

/** The counters every counters event has, and those only some have (by option). */
export const COUNTERS = [
  'packets_seen',
  'packets_rejected',
  'records_received',
  'records_dropped_by_capture',
  'scans_detected',
  'scans_logged',
  'scans_suppressed',
  'table_reuses',
  'bucket_evictions',
] as const;
export const OPTIONAL_COUNTERS = [
  'udp_replies_skipped',
  'slow_scans_detected',
  'sweeps_detected',
  'slow_sources_refused',
  'socket_table_reads',
  'json_lines_written',
  'json_lines_dropped',
  'syslog_events_dropped',
  'kernel_drops',
  'kernel_drops_tcp4',
  'kernel_drops_udp4',
  'kernel_drops_tcp6',
  'kernel_drops_udp6',
] as const;

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

/** A slow scan's or a sweep's destinations, and a slow scan's ports, at most: the failed contacts a source's entry remembers. */
export const MAX_SLOW_CONTACTS = SLOW_CONTACTS;

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

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** ISO 8601 local time with milliseconds and the zone offset, e.g. 2026-12-02T09:15:03.120+01:00. */
export function isoLocal(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** One event as the object its JSON text holds: times in ISO 8601. */
export function eventObject(e: MonitorEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { ...e, time: isoLocal(e.time) };
  if (e.event === 'scan' || e.event === 'scan_end' || e.event === 'slow_scan' || e.event === 'sweep') {
    out['first'] = isoLocal(e.first);
    out['last'] = isoLocal(e.last);
  }
  return out;
}

/** One event as its JSON line, with the newline. */
export function eventLine(e: MonitorEvent): string {
  return `${JSON.stringify(eventObject(e))}\n`;
}

/**
 * The longest scan event the daemon can write: every field at its widest (IPv6
 * addresses of 39 characters, the most ports, each of five digits, counts as large as a
 * double holds exactly). Every other kind is shorter: a scan_end's 64 ranges are a
 * fraction of it, and a counters event has a dozen numbers.
 */
export function largestEvent(): ScanEvent {
  const address = (n: number): string => `ffff:ffff:ffff:ffff:ffff:ffff:ffff:${(0xff00 + n).toString(16)}`;
  const latest = Date.UTC(9999, 11, 30);
  return {
    event: 'scan',
    time: latest,
    family: 'ipv6',
    protocol: 'tcp',
    source: address(255),
    source_port: 65535,
    destinations: Array.from({ length: MAX_DESTINATIONS }, (_, i) => address(i)),
    destinations_truncated: false,
    ports: Array.from({ length: MAX_SCAN_PORTS }, (_, i) => 65535 - i),
    flags: '????????',
    flags_or: 255,
    flags_and: 255,
    tos: 255,
    ttl: 255,
    packets: Number.MAX_SAFE_INTEGER,
    first: latest,
    last: latest,
    syslog: 'flood-notice',
  };
}

let largestLine = 0;

/** Bytes of the longest line the daemon can write, its newline included. */
export function maxEventLineBytes(): number {
  if (largestLine === 0) largestLine = Buffer.byteLength(eventLine(largestEvent()));
  return largestLine;
}
