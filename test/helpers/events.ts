// Events as the daemon writes them, for the notifier's tests: each line made by the
// daemon's own writer (eventLine), and read back by the notifier's reader, so that a
// fixture is never something the daemon cannot write.

import { eventLine, type MonitorEvent, type ScanEndEvent, type ScanEvent, type SuppressedEvent } from '../../src/shared/events.js';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { ScanPipeline } from '../../src/monitor/pipeline.js';
import { parseLine, type Note } from '../../src/notify/events.js';

/** A scan event at `firstMs` from `source` (IPv4 TCP unless said otherwise). */
export function scanEvent(source: string, ports: number[], firstMs: number, more: Partial<ScanEvent> = {}): ScanEvent {
  return {
    event: 'scan',
    time: firstMs,
    family: source.includes(':') ? 'ipv6' : 'ipv4',
    protocol: 'tcp',
    source,
    source_port: 40000,
    destinations: [source.includes(':') ? '2001:db8::1' : '198.18.0.1'],
    destinations_truncated: false,
    ports,
    flags: 'fSrpauxy',
    flags_or: 2,
    flags_and: 2,
    tos: 0,
    ttl: null,
    packets: ports.length,
    first: firstMs,
    last: firstMs,
    syslog: 'logged',
    ...more,
  };
}

/** The end of a scan from `source` that probed `portRanges` ("1-100,443"), `distinct` ports in all. */
export function scanEndEvent(
  source: string,
  portRanges: string,
  distinct: number,
  firstMs: number,
  more: Partial<ScanEndEvent> = {},
): ScanEndEvent {
  return {
    event: 'scan_end',
    time: firstMs + 4000,
    family: source.includes(':') ? 'ipv6' : 'ipv4',
    protocol: 'tcp',
    source,
    reason: 'quiet',
    first: firstMs,
    last: firstMs + 1000,
    duration_ms: 1000,
    packets: distinct * 2,
    distinct_ports: distinct,
    port_ranges: portRanges,
    port_ranges_truncated: false,
    destinations: [source.includes(':') ? '2001:db8::1' : '198.18.0.1'],
    destinations_truncated: false,
    ...more,
  };
}

export function suppressedEvent(state: 'start' | 'end', timeMs: number, dropped?: number): SuppressedEvent {
  return dropped === undefined ? { event: 'suppressed', time: timeMs, state } : { event: 'suppressed', time: timeMs, state, dropped };
}

/** The line the daemon writes for `e`, without its newline. */
export function lineOf(e: MonitorEvent): string {
  return eventLine(e).slice(0, -1);
}

/** What the notifier keeps of `e`, read back from the daemon's line; throws if it refuses it. */
export function noteOf(e: MonitorEvent): Note {
  const v = parseLine(lineOf(e));
  if (v.kind !== 'note') throw new Error(`the reader refused the daemon's own line: ${JSON.stringify(v)}`);
  return v.note;
}

/**
 * The events the daemon's own pipeline writes for one IPv4 source sending a SYN to each
 * of `ports` in turn, a millisecond apart from `startMs`, then going quiet: its scan and
 * the scan's end, with the daemon's real range list.
 */
export function eventsOfScan(
  source: string,
  ports: readonly number[],
  startMs: number,
  params: DetectorParams = DEFAULT_PARAMS,
): MonitorEvent[] {
  const events: MonitorEvent[] = [];
  const pipeline = new ScanPipeline(
    params,
    () => undefined,
    (e) => events.push(e),
  );
  const mono = 5000000;
  const saddr = parseAddress(source);
  const daddr = parseAddress('198.18.0.1');
  for (const [i, dport] of ports.entries()) {
    const time = (mono + i) >>> 0;
    pipeline.feed({ saddr, daddr, sport: 40000, dport, flags: 0x02, tos: 0, ttl: 64, time }, time, startMs + i);
  }
  pipeline.sweep((mono + ports.length + params.scanDelayMs + 1) >>> 0, startMs + ports.length + params.scanDelayMs + 1);
  return events;
}
