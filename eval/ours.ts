// The daemon's own detection on a scenario: the monitor's real pipeline (scanlogd's
// detector, and the second stage with --slow-scans), fed the records the capture
// process would write for what the vantage shows (on a gateway's outside device with
// the stage on, the answers leaving it too), on the simulated clock, with the
// host's socket tables as its kernel would show them at each read.

import { ScanPipeline } from '../src/monitor/pipeline.js';
import type { SocketSink } from '../src/monitor/sockets.js';
import type { DetectorParams } from '../src/shared/params.js';
import type { Answer4Record, PacketRecord } from '../src/shared/record.js';
import { eventTime, type Address, type Event, type Packet, type SocketChange, type Unreachable } from './model.js';
import type { Scenario } from './scenarios.js';
import { EPHEMERAL, HOST_BROADCASTS } from './scenarios.js';

/** A line the daemon logged, with its source and when. */
export interface Reported {
  t: number;
  source: string;
  /** 'classic' for scanlogd's line, 'stage' for the second stage's. */
  by: 'classic' | 'stage';
  text: string;
}

/** Where the simulated clocks start: uint32 milliseconds, and a wall clock of a Monday 08:00 UTC. */
const MONO0 = 5_000_000;
const WALL0 = Date.UTC(2026, 0, 5, 8, 0, 0);
/** The monitor asks whether to read the socket tables once a second. */
const TICK_MS = 1000;
/** What a read of the socket tables is taken to cost: it paces the next one, as measured in the daemon. */
const READ_COST_MS = 5;

const words = (a: Address | null): Uint32Array =>
  a === null ? new Uint32Array(4) : typeof a === 'number' ? Uint32Array.of(0, 0, 0xffff, a) : Uint32Array.from(a);

/** The sockets of the watched host as its tables would list them. */
class HostSockets {
  private readonly listeners = new Map<string, SocketChange>();
  private readonly rows = new Map<string, SocketChange>();

  apply(c: SocketChange): void {
    const table = c.peer === null ? this.listeners : this.rows;
    const k = `${c.protocol}|${String(c.local)}|${c.port}|${String(c.peer)}|${c.peerPort}`;
    if (c.open) table.set(k, c);
    else table.delete(k);
  }

  read(sink: SocketSink): void {
    for (const c of this.listeners.values()) sink.listener(c.protocol, words(c.local), c.port);
    for (const c of this.rows.values()) sink.connection(c.protocol, words(c.local), c.port, words(c.peer));
  }
}

/**
 * The answer record the capture process writes for `p` when the daemon watches a
 * gateway's outside device with the second stage on: an inside host's IPv4 reset or
 * SYN+ACK leaving through that device (the answers handle's filter), or null.
 */
function answerOf(s: Scenario, p: Packet, time: number, slowScans: boolean): Answer4Record | null {
  if (!slowScans || s.vantage !== 'gateway-outside' || p.side !== 'inside' || p.protocol !== 'tcp') return null;
  if (typeof p.saddr !== 'number' || typeof p.daddr !== 'number') return null;
  const refused = (p.flags & 0x04) !== 0;
  if (!refused && (p.flags & 0x12) !== 0x12) return null;
  return { type: 'answer4', host: p.saddr, source: p.daddr, port: p.sport, sourcePort: p.dport, protocol: 'tcp', accepted: !refused, time };
}

/**
 * The answer record for a gateway's ICMP error leaving its outside device: the answers
 * handle passes it on the outside device and on `any` alike, and reads the quoted probe.
 */
function unreachableAnswer(s: Scenario, icmp: Unreachable, time: number, slowScans: boolean): Answer4Record | null {
  if (!slowScans || !s.vantage.startsWith('gateway')) return null;
  if (typeof icmp.saddr !== 'number' || typeof icmp.daddr !== 'number') return null;
  return {
    type: 'answer4',
    host: icmp.daddr,
    source: icmp.saddr,
    port: icmp.dport,
    sourcePort: icmp.sport,
    protocol: 'tcp',
    accepted: false,
    time,
  };
}

/** Whether the daemon's vantage shows `p`: a gateway's outside device sees only what arrives there; libpcap's filter drops pure ACKs. */
function shows(s: Scenario, p: Packet): boolean {
  if (s.vantage === 'gateway-outside' && p.side === 'inside') return false;
  const pcap = s.vantage !== 'raw';
  return !(pcap && p.protocol === 'tcp' && (p.flags === 0x10 || p.flags === 0x18));
}

function record(p: Packet, time: number): PacketRecord {
  const fields = { sport: p.sport, dport: p.dport, flags: p.flags, tos: 0, ttl: 64, time };
  if (typeof p.saddr === 'number' && typeof p.daddr === 'number') {
    return { type: p.protocol === 'tcp' ? 'tcp4' : 'udp4', saddr: p.saddr, daddr: p.daddr, ...fields };
  }
  return { type: 'ip6', protocol: p.protocol, saddr: p.saddr as Uint32Array, daddr: p.daddr as Uint32Array, ...fields };
}

/** The source named by a line: the first word, without a port or brackets. */
function sourceOf(text: string): string {
  const first = text.split(' ')[0] ?? '';
  const bracketed = /^\[(.*)\]:\d+$/.exec(first);
  if (bracketed !== null) return bracketed[1] as string;
  return /^\d+\.\d+\.\d+\.\d+:\d+$/.test(first) ? (first.split(':')[0] as string) : first;
}

const isStageLine = (text: string): boolean => / slow scan: | swept (UDP |TCP )?port /.test(text);

/**
 * Runs the daemon's pipeline with `params` over the scenario's events; with
 * `slowScans` the second stage runs too, reading the host's sockets as the monitor
 * does. Returns every line that names a source.
 */
export function runOurs(s: Scenario, events: readonly Event[], params: DetectorParams, slowScans: boolean): Reported[] {
  const pipeline = new ScanPipeline(params, {
    watch: { udp: s.udp === true, ipv6: s.ipv6 === true, ephemeralPorts: s.udp === true ? EPHEMERAL : null },
    slowScans,
    localOnly: s.vantage === 'raw',
    broadcasts: HOST_BROADCASTS,
  });
  const host = new HostSockets();
  const out: Reported[] = [];
  const note = (t: number, texts: readonly string[]): void => {
    for (const text of texts) {
      if (text.startsWith('More possible')) continue;
      out.push({ t, source: sourceOf(text), by: isStageLine(text) ? 'stage' : 'classic', text });
    }
  };
  const lines = (outputs: ReturnType<ScanPipeline['handle']>): string[] => outputs.flatMap((o) => (o.kind === 'line' ? [o.text] : []));
  let tick = 0;
  const tickUntil = (t: number): void => {
    const stage = pipeline.slow;
    if (stage === null) return;
    for (; tick <= t; tick += TICK_MS) {
      const mono = (MONO0 + tick) >>> 0;
      if (!stage.wantsRefresh(mono)) continue;
      note(tick, lines(pipeline.refreshSockets((sink) => host.read(sink), mono, WALL0 + tick)));
      stage.noteRefreshCost(READ_COST_MS);
    }
  };
  for (const e of events) {
    if (e.kind === 'socket') {
      tickUntil(e.change.t);
      host.apply(e.change);
      continue;
    }
    if (e.kind === 'unreachable') {
      tickUntil(e.icmp.t);
      const answer = unreachableAnswer(s, e.icmp, (MONO0 + Math.floor(e.icmp.t)) >>> 0, slowScans);
      if (answer !== null) note(e.icmp.t, lines(pipeline.answer(answer, answer.time, WALL0 + e.icmp.t)));
      continue;
    }
    const p = e.packet;
    tickUntil(p.t);
    const mono = (MONO0 + Math.floor(p.t)) >>> 0;
    const answer = answerOf(s, p, mono, slowScans);
    if (answer !== null) note(p.t, lines(pipeline.answer(answer, mono, WALL0 + p.t)));
    if (!shows(s, p)) continue;
    note(p.t, lines(pipeline.handle(record(p, mono), mono, WALL0 + p.t)));
  }
  // Long enough after the last packet for every waiting contact to be judged.
  const last = events.length === 0 ? 0 : Math.max(0, ...events.slice(-1).map(eventTime));
  tickUntil(last + 5 * 60_000);
  return out;
}
