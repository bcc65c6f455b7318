// The text a person reads on a phone: who scanned, which ports, how many, since when,
// for everything one message summarises. Pure: notes and the present day in, text out.

import type { Note, PortRange, ScanEndNote, ScanNote, SuppressedNote, Time } from './events.js';

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
  /** In the notifier's own words (never an endpoint's text): shown to the person. */
  why: string;
}

/** Sources named one per line; the rest are counted. */
export const MAX_SOURCE_LINES = 10;
/** Characters of a port list; ranges that do not fit are counted instead. */
export const MAX_PORT_TEXT = 48;

/**
 * A port range as one number, low * 65536 + high: numbers sort as their ranges' starts
 * do, so that the thousands of ports of a large digest are merged after one numeric sort
 * with no object for each.
 */
const PORT_SPAN = 65536;
const encode = (low: number, high: number): number => low * PORT_SPAN + high;

/** Ranges a port list of MAX_PORT_TEXT characters can show at most (one digit and ", " each). */
const MAX_SHOWN_RANGES = Math.ceil(MAX_PORT_TEXT / 3);

/** One scan of a source: its scan event and its end, told together by their common start. */
interface OneScan {
  /** Its ports (from the scan event) or ranges (from its end), encoded. */
  ranges: number[];
  /** Its distinct ports: the scan event's, or, once it ended, all of them. */
  distinct: number;
  /** The daemon listed only the first ranges of its end. */
  rangesTruncated: boolean;
  ended: boolean;
  /** A scan's end counts the packets its start did, and those after. */
  packets: number;
}

interface SourceSummary {
  source: string;
  /** UDP probes are named as such; TCP is what scanlogd always watched. */
  udp: boolean;
  /** Distinct, in the order first seen. */
  destinations: Set<string>;
  /** More destinations were probed than any event listed. */
  destinationsTruncated: boolean;
  /** By the instant the scan began (the same in its scan event and its end). */
  scans: Map<number, OneScan>;
  first: Time;
  last: Time;
}

/** Visits the ranges of `encoded` in order, overlapping and adjacent ones joined; stops when `visit` returns false. */
function eachMerged(encoded: readonly number[], visit: (low: number, high: number) => boolean): void {
  const sorted = Float64Array.from(encoded).sort();
  let low = -1;
  let high = -2;
  for (const e of sorted) {
    const l = Math.floor(e / PORT_SPAN);
    const h = e - l * PORT_SPAN;
    if (l <= high + 1) {
      if (h > high) high = h;
      continue;
    }
    if (low >= 0 && !visit(low, high)) return;
    low = l;
    high = h;
  }
  if (low >= 0) visit(low, high);
}

/** Sorted ranges with overlapping and adjacent ones joined. */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const merged: PortRange[] = [];
  eachMerged(
    ranges.map((r) => encode(r.low, r.high)),
    (low, high) => merged.push({ low, high }) > 0,
  );
  return merged;
}

const rangeText = (r: PortRange): string => (r.low === r.high ? String(r.low) : `${r.low}-${r.high}`);

/** "22, 80, 1000-1010": sorted, runs collapsed. */
export function rangesText(ports: Iterable<number>): string {
  return mergeRanges([...ports].map((p) => ({ low: p, high: p })))
    .map(rangeText)
    .join(', ');
}

/**
 * The ranges as text of at most `max` characters, cut between two ranges, never inside
 * one: "1-100, 443 and 1200 more". `total` is the count of ports the ranges stand for
 * (more than `merged` holds when the daemon listed only the first ranges, or when only
 * the first ranges are passed); `atLeast` says the count is a lower bound.
 */
export function portListText(merged: readonly PortRange[], total: number, atLeast: boolean, max = MAX_PORT_TEXT): string {
  const rest = (shown: number): string => {
    if (total > shown) return ` and ${atLeast ? 'at least ' : ''}${total - shown} more`;
    return atLeast ? ' and more' : '';
  };
  let text = '';
  let shown = 0;
  for (const [i, r] of merged.entries()) {
    const next = i === 0 ? rangeText(r) : `${text}, ${rangeText(r)}`;
    const nextShown = shown + r.high - r.low + 1;
    // The first range always shows; a later one only if it and the count of the rest fit.
    if (i > 0 && next.length + rest(nextShown).length > max) break;
    text = next;
    shown = nextShown;
  }
  return `${text}${rest(shown)}`;
}

/** "09:15:03" for today, "2026-12-02 09:15:03" for another day (the daemon's local time). */
export function when(t: Time, today: string): string {
  const date = t.text.slice(0, 10);
  const clock = t.text.slice(11, 19);
  return date === today ? clock : `${date} ${clock}`;
}

/** Today's date as the daemon writes it (local time). */
export function localDate(now: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

const sourceKey = (n: ScanNote | ScanEndNote): string => `${n.protocol} ${n.source}`;

/** One source's summary from its notes (a source's TCP and UDP scans are told apart by the key). */
function summarise(key: string, notes: readonly (ScanNote | ScanEndNote)[]): SourceSummary {
  let s: SourceSummary | null = null;
  for (const n of notes) {
    if (sourceKey(n) !== key) continue;
    s ??= {
      source: n.source,
      udp: n.protocol === 'udp',
      destinations: new Set(),
      destinationsTruncated: false,
      scans: new Map(),
      first: n.first,
      last: n.last,
    };
    for (const d of n.destinations) s.destinations.add(d);
    s.destinationsTruncated ||= n.destinationsTruncated;
    // By the instant, not the text: the text's offset changes with daylight saving time.
    if (n.first.ms < s.first.ms) s.first = n.first;
    if (n.last.ms > s.last.ms) s.last = n.last;
    const scan = s.scans.get(n.first.ms);
    if (n.event === 'scan_end') {
      // The end of a scan knows every port it probed; the scan event stopped at the threshold.
      s.scans.set(n.first.ms, {
        ranges: n.ranges.map((r) => encode(r.low, r.high)),
        distinct: n.distinctPorts,
        rangesTruncated: n.rangesTruncated,
        ended: true,
        packets: Math.max(n.packets, scan?.packets ?? 0),
      });
    } else if (scan === undefined) {
      s.scans.set(n.first.ms, {
        ranges: n.ports.map((p) => encode(p, p)),
        distinct: n.ports.length,
        rangesTruncated: false,
        ended: false,
        packets: n.packets,
      });
    } else {
      scan.packets = Math.max(scan.packets, n.packets);
    }
  }
  if (s === null) throw new Error(`no notes of ${key}`);
  return s;
}

/** How many ports a source probed, and the text of their ranges: exact, or "at least" when the daemon left ranges out. */
function portsOf(s: SourceSummary): { count: number; atLeast: boolean; text: string } {
  const scans = [...s.scans.values()];
  let known = 0;
  const first: PortRange[] = [];
  eachMerged(
    scans.flatMap((scan) => scan.ranges),
    (low, high) => {
      known += high - low + 1;
      if (first.length < MAX_SHOWN_RANGES) first.push({ low, high });
      return true;
    },
  );
  const only = scans.length === 1 ? (scans[0] as OneScan) : null;
  // One scan: its end counted its ports exactly, listed or not.
  if (only !== null) return { count: only.distinct, atLeast: false, text: portListText(first, only.distinct, false) };
  // Several scans whose ends left ranges out: the ports they share are unknown, so the count is a floor.
  const atLeast = scans.some((scan) => scan.rangesTruncated);
  const count = atLeast ? Math.max(known, ...scans.map((scan) => scan.distinct)) : known;
  return { count, atLeast, text: portListText(first, count, atLeast) };
}

function sourceLine(s: SourceSummary, today: string): string {
  const ports = portsOf(s);
  const [firstDestination] = s.destinations;
  const others = s.destinations.size - 1;
  const targets =
    others === 0 && !s.destinationsTruncated
      ? (firstDestination as string)
      : `${firstDestination as string} and ${s.destinationsTruncated ? `at least ${others + 1}` : others} more`;
  const from = when(s.first, today);
  const to = when(s.last, today);
  const since = from === to ? `at ${from}` : `${from}-${to}`;
  const scans = s.scans.size > 1 ? `, ${s.scans.size} scans` : '';
  const packets = [...s.scans.values()].reduce((n, scan) => n + scan.packets, 0);
  const counted = `${ports.atLeast ? 'at least ' : ''}${ports.count}${s.udp ? ' UDP' : ''} port${ports.count === 1 ? '' : 's'}`;
  return `${s.source} → ${targets}: ${counted} (${ports.text}), ${packets} packets${scans}, ${since}`;
}

/** The flood limit's events as one sentence. */
function floodSentence(notes: readonly SuppressedNote[], today: string): string | null {
  const start = notes.find((n) => n.state === 'start');
  const ends = notes.filter((n) => n.state === 'end');
  const end = ends[ends.length - 1];
  const dropped = ends.reduce((sum, n) => sum + (n.dropped ?? 0), 0);
  const notLogged = `${dropped} scan${dropped === 1 ? ' was' : 's were'} not logged to syslog`;
  if (start !== undefined && end !== undefined && start.time.ms <= end.time.ms) {
    return `Flood of scans from ${when(start.time, today)} to ${when(end.time, today)}: ${notLogged}.`;
  }
  if (end !== undefined) return `A flood of scans ended at ${when(end.time, today)}: ${notLogged}.`;
  if (start !== undefined)
    return `A flood of scans began at ${when(start.time, today)}: scanlogd logs no more scan lines until the scans pause.`;
  return null;
}

/**
 * One message for `notes` (in file order), naming `host`; `undelivered` says what
 * earlier messages lost, so that nothing is dropped without a person hearing of it.
 */
export function renderMessage(notes: readonly Note[], host: string, now: Date, undelivered: Undelivered | null = null): Message {
  const today = localDate(now);
  const scans = notes.filter((n): n is ScanNote | ScanEndNote => n.event !== 'suppressed');
  // Every source's scans are counted; only the first sources are summarised in full.
  const scansOf = new Map<string, Set<number>>();
  for (const n of scans) {
    const key = sourceKey(n);
    const starts = scansOf.get(key) ?? new Set<number>();
    starts.add(n.first.ms);
    scansOf.set(key, starts);
  }
  const keys = [...scansOf.keys()];
  const flood = floodSentence(
    notes.filter((n): n is SuppressedNote => n.event === 'suppressed'),
    today,
  );
  const lines: string[] = [];
  const named = keys.slice(0, MAX_SOURCE_LINES).map((key) => summarise(key, scans));
  for (const s of named) lines.push(sourceLine(s, today));
  const scanCount = (list: string[]): number => list.reduce((n, key) => n + (scansOf.get(key)?.size ?? 0), 0);
  if (keys.length > MAX_SOURCE_LINES) {
    const rest = keys.slice(MAX_SOURCE_LINES);
    lines.push(`… and ${rest.length} more source${rest.length === 1 ? '' : 's'} (${scanCount(rest)} scans)`);
  }
  if (flood !== null) lines.push(flood);
  if (undelivered !== null && undelivered.events > 0) {
    lines.push(
      `${undelivered.events} earlier event${undelivered.events === 1 ? ' was' : 's were'} not delivered here and dropped (${undelivered.why}).`,
    );
  }
  let title: string;
  if (keys.length === 1) title = `${host}: port scan from ${(named[0] as SourceSummary).source}`;
  else if (keys.length > 1) title = `${host}: ${scanCount(keys)} port scans from ${keys.length} sources`;
  else if (flood !== null) title = `${host}: flood of port scans`;
  else title = `${host}: scanlogd notifications lost`;
  lines.push(`(${notes.length} event${notes.length === 1 ? '' : 's'} from scanlogd on ${host})`);
  return { title, text: lines.join('\n'), events: notes.length, sources: keys.length };
}
