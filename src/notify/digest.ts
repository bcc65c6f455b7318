// The text a person reads on a phone: who scanned, which ports, how many, since when,
// for everything one message summarises. Pure: notes and the present day in, text out.

import type { Note, ScanEndNote, ScanNote, SlowNote, SuppressedNote } from './events.js';

export interface Message {
  title: string;
  text: string;
  /** Events the message summarises. */
  events: number;
  /** Distinct scanning sources named in it. */
  sources: number;
}

/** Events of earlier messages that could not be delivered and were given up. */
export interface Undelivered {
  events: number;
  why: string;
}

/** Sources named one per line; the rest are counted. */
export const MAX_SOURCE_LINES = 10;
/** Characters of a port list; a longer one ends in "…". */
const MAX_PORT_TEXT = 48;

interface SourceSummary {
  source: string;
  /** UDP probes are named as such; TCP is what scanlogd always watched. */
  udp: boolean;
  destinations: string[];
  /** Ranges text from scan_end when known, else built from the scan's ports. */
  ports: Set<number>;
  portRanges: string | null;
  distinctPorts: number;
  /** Packets up to the threshold (scan events) and in whole scans (scan_end events). */
  scanPackets: number;
  endPackets: number;
  first: string;
  last: string;
  scans: number;
}

/** "22, 80, 1000-1010": sorted, runs collapsed. */
export function rangesText(ports: Iterable<number>): string {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(j > i ? `${sorted[i] as number}-${sorted[j] as number}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(', ');
}

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // ", …" takes three characters.
  const cut = text.lastIndexOf(', ', max - 3);
  return `${text.slice(0, cut > 0 ? cut : max - 3)}, …`;
}

/** "09:15:03" for today, "2026-12-02 09:15:03" for another day (the daemon's local time). */
export function when(iso: string, today: string): string {
  const date = iso.slice(0, 10);
  const clock = iso.slice(11, 19);
  return date === today ? clock : `${date} ${clock}`;
}

/** Today's date as the daemon writes it (local time). */
export function localDate(now: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function addDestinations(list: string[], more: readonly string[]): void {
  for (const d of more) if (!list.includes(d)) list.push(d);
}

function summarise(notes: readonly (ScanNote | ScanEndNote)[]): SourceSummary[] {
  const bySource = new Map<string, SourceSummary>();
  for (const n of notes) {
    // A source's TCP and UDP scans are told apart.
    const key = `${n.protocol} ${n.source}`;
    let s = bySource.get(key);
    if (s === undefined) {
      s = {
        source: n.source,
        udp: n.protocol === 'udp',
        destinations: [],
        ports: new Set(),
        portRanges: null,
        distinctPorts: 0,
        scanPackets: 0,
        endPackets: 0,
        first: n.first,
        last: n.last,
        scans: 0,
      };
      bySource.set(key, s);
    }
    addDestinations(s.destinations, n.destinations);
    if (n.first < s.first) s.first = n.first;
    if (n.last > s.last) s.last = n.last;
    if (n.event === 'scan') {
      s.scans++;
      for (const p of n.ports) s.ports.add(p);
      s.scanPackets += n.packets;
    } else {
      // The end of a scan knows every port it probed; the scan event stopped at the threshold.
      s.portRanges = s.portRanges === null ? n.portRanges : `${s.portRanges}, ${n.portRanges}`;
      s.distinctPorts += n.distinctPorts;
      s.endPackets += n.packets;
      if (s.scans === 0) s.scans = 1;
    }
  }
  return [...bySource.values()];
}

function sourceLine(s: SourceSummary, today: string): string {
  const count = s.portRanges !== null ? s.distinctPorts : s.ports.size;
  const ranges = clip(s.portRanges ?? rangesText(s.ports), MAX_PORT_TEXT);
  const targets =
    s.destinations.length === 1 ? (s.destinations[0] as string) : `${s.destinations[0] as string} and ${s.destinations.length - 1} more`;
  const from = when(s.first, today);
  const to = when(s.last, today);
  const since = from === to ? `at ${from}` : `${from}-${to}`;
  const scans = s.scans > 1 ? `, ${s.scans} scans` : '';
  // A scan's end counts the packets its start did, and those after.
  const packets = Math.max(s.scanPackets, s.endPackets);
  return `${s.source} → ${targets}: ${count}${s.udp ? ' UDP' : ''} port${count === 1 ? '' : 's'} (${ranges}), ${packets} packets${scans}, ${since}`;
}

/** A slow scan or a sweep on a line of its own: what the second stage saw, and over how long. */
function slowLine(n: SlowNote, today: string): string {
  const from = when(n.first, today);
  const to = when(n.last, today);
  const since = from === to ? `at ${from}` : `${from}-${to}`;
  const udp = n.protocols.includes('udp') ? (n.protocols.includes('tcp') ? ' TCP+UDP' : ' UDP') : '';
  const targets =
    n.destinations.length === 1 ? (n.destinations[0] as string) : `${n.destinations[0] as string} and ${n.destinations.length - 1} more`;
  if (n.event === 'sweep') return `${n.source} swept${udp} port ${n.ports[0] as number} on ${n.count} hosts (${targets}), ${since}`;
  const ranges = clip(rangesText(n.ports), MAX_PORT_TEXT);
  return `${n.source} → ${targets}: slow scan of ${n.count} closed${udp} port${n.count === 1 ? '' : 's'} (${ranges}), ${since}`;
}

/** The flood limit's events as one sentence. */
function floodSentence(notes: readonly SuppressedNote[], today: string): string | null {
  const start = notes.find((n) => n.state === 'start');
  const ends = notes.filter((n) => n.state === 'end');
  const end = ends[ends.length - 1];
  const dropped = ends.reduce((sum, n) => sum + (n.dropped ?? 0), 0);
  const notLogged = `${dropped} scan${dropped === 1 ? ' was' : 's were'} not logged to syslog`;
  if (start !== undefined && end !== undefined && start.time <= end.time) {
    return `Flood of scans from ${when(start.time, today)} to ${when(end.time, today)}: ${notLogged}.`;
  }
  if (end !== undefined) return `A flood of scans ended at ${when(end.time, today)}: ${notLogged}.`;
  if (start !== undefined)
    return `A flood of scans began at ${when(start.time, today)}: scanlogd logs no more lines until 20 s pass without a scan.`;
  return null;
}

/**
 * One message for `notes` (in file order), naming `host`; `undelivered` says what
 * earlier messages lost, so that nothing is dropped without a person hearing of it.
 */
export function renderMessage(notes: readonly Note[], host: string, now: Date, undelivered: Undelivered | null = null): Message {
  const today = localDate(now);
  const scans = notes.filter((n): n is ScanNote | ScanEndNote => n.event === 'scan' || n.event === 'scan_end');
  const slow = notes.filter((n): n is SlowNote => n.event === 'slow_scan' || n.event === 'sweep');
  const sources = summarise(scans);
  const flood = floodSentence(
    notes.filter((n): n is SuppressedNote => n.event === 'suppressed'),
    today,
  );
  const lines: string[] = [];
  for (const s of sources.slice(0, MAX_SOURCE_LINES)) lines.push(sourceLine(s, today));
  if (sources.length > MAX_SOURCE_LINES) {
    const rest = sources.slice(MAX_SOURCE_LINES);
    lines.push(
      `… and ${rest.length} more source${rest.length === 1 ? '' : 's'} (${rest.reduce((n, s) => n + Math.max(1, s.scans), 0)} scans)`,
    );
  }
  for (const n of slow.slice(0, MAX_SOURCE_LINES)) lines.push(slowLine(n, today));
  if (slow.length > MAX_SOURCE_LINES) lines.push(`… and ${slow.length - MAX_SOURCE_LINES} more slow scans and sweeps`);
  if (flood !== null) lines.push(flood);
  if (undelivered !== null && undelivered.events > 0) {
    lines.push(
      `${undelivered.events} earlier event${undelivered.events === 1 ? '' : 's'} could not be delivered here and were dropped (${undelivered.why}).`,
    );
  }
  const scanCount = sources.reduce((n, s) => n + Math.max(1, s.scans), 0);
  const slowSources = new Set(slow.map((n) => n.source));
  let title: string;
  if (sources.length === 0 && slow.length === 1) {
    const n = slow[0] as SlowNote;
    title = `${host}: ${n.event === 'sweep' ? 'port sweep' : 'slow port scan'} from ${n.source}`;
  } else if (sources.length === 0 && slow.length > 1) {
    title = `${host}: ${slow.length} slow scans and sweeps from ${slowSources.size} source${slowSources.size === 1 ? '' : 's'}`;
  } else if (sources.length > 0 && slow.length > 0) {
    const all = new Set([...sources.map((s) => s.source), ...slowSources]);
    title = `${host}: ${scanCount + slow.length} port scans and sweeps from ${all.size} source${all.size === 1 ? '' : 's'}`;
  } else if (sources.length === 1) title = `${host}: port scan from ${(sources[0] as SourceSummary).source}`;
  else if (sources.length > 1) title = `${host}: ${scanCount} port scans from ${sources.length} sources`;
  else if (flood !== null) title = `${host}: flood of port scans`;
  else title = `${host}: scanlogd notifications lost`;
  lines.push(`(${notes.length} event${notes.length === 1 ? '' : 's'} from scanlogd on ${host})`);
  const slowOnly = [...slowSources].filter((a) => !sources.some((s) => s.source === a)).length;
  return { title, text: lines.join('\n'), events: notes.length, sources: sources.length + slowOnly };
}
