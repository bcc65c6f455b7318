// The simulated world of the evaluation: packets on a simulated clock, the sockets of
// the watched host as its kernel tables would show them, and what each first contact
// met (an open port, a closed one, silence), for the anchors' rules that need it.

import fs = require('node:fs');
import { parseAddress } from '../src/shared/ipv4.js';
import { parseAddress6 } from '../src/shared/ipv6.js';
import type { Protocol } from '../src/shared/record.js';

export type Address = number | Uint32Array;

/** What a first contact met: a socket, a closed port (RST, ICMP unreachable), or nothing at all. */
export type Outcome = 'open' | 'closed' | 'silent';

/** On a gateway: which side of it a packet arrives from. On a host, every packet arrives at the host. */
export type Side = 'outside' | 'inside';

export interface Packet {
  t: number;
  saddr: Address;
  daddr: Address;
  sport: number;
  dport: number;
  protocol: Protocol;
  /** TCP flags; 0 for UDP. */
  flags: number;
  side?: Side;
  /** The first packet of a connection attempt, with what it met (retransmissions share `conn`). */
  attempt?: { outcome: Outcome; conn: number };
  /** A packet a host firewall would drop and log although it starts nothing (late, stray, backscatter). */
  stray?: boolean;
  /** A probe of the scan the scenario is about. */
  scanner?: boolean;
}

/** A change of the watched host's sockets: a listener, or a connection's row. */
export interface SocketChange {
  t: number;
  protocol: Protocol;
  /** Local address (null: every address of the host) and port. */
  local: Address | null;
  port: number;
  /** The peer of a connection; null for a listener. */
  peer: Address | null;
  peerPort: number;
  open: boolean;
}

/**
 * An ICMP destination unreachable a gateway sends back through its outside device for
 * a probe it could not deliver; the fields are the quoted probe's.
 */
export interface Unreachable {
  t: number;
  code: number;
  saddr: Address;
  daddr: Address;
  sport: number;
  dport: number;
}

export type Event =
  { kind: 'packet'; packet: Packet } | { kind: 'socket'; change: SocketChange } | { kind: 'unreachable'; icmp: Unreachable };

/** Neighbour resolution on Linux: 3 solicitations 1 s apart, then the queued packets get their host unreachable. */
const NEIGHBOUR_WAIT = 3000;
/** net.ipv4.icmp_ratelimit (ms per error) and the burst of the per-destination token bucket (ip_route's XRLIM_BURST_FACTOR). */
const ICMP_RATE_MS = 1000;
const ICMP_BURST = 6;

/**
 * A Linux gateway in front of an inside network, as it treats a packet for an address
 * nobody answers ARP for: with `answers`, an ICMP host unreachable once neighbour
 * resolution gives up, at most as the per-destination token bucket allows (6 at once,
 * then 1 a second: icmp_ratemask covers type 3); without, nothing (a gateway that drops
 * silently). Calls must come in the order of the probes' times.
 */
export class Gateway {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();

  constructor(readonly answers: boolean) {}

  /** When the gateway answers a probe sent at `t` to `destination` (the prober), or null. */
  hostUnreachable(destination: Address, t: number): number | null {
    if (!this.answers) return null;
    const at = t + NEIGHBOUR_WAIT;
    const key = String(destination);
    // A new destination's bucket starts full, as the kernel's peer entry does.
    const bucket = this.buckets.get(key) ?? { tokens: ICMP_BURST * ICMP_RATE_MS, last: at };
    bucket.tokens = Math.min(ICMP_BURST * ICMP_RATE_MS, bucket.tokens + at - bucket.last);
    bucket.last = at;
    this.buckets.set(key, bucket);
    if (bucket.tokens < ICMP_RATE_MS) return null;
    bucket.tokens -= ICMP_RATE_MS;
    return at;
  }
}

export const TH = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export const ip = (text: string): Address => (text.includes(':') ? parseAddress6(text) : parseAddress(text));

/** Seeded pseudo-random numbers (mulberry32): every run of the evaluation sees the same traffic. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], rnd: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** An exponentially distributed wait with mean `mean`. */
export const wait = (rnd: () => number, mean: number): number => -Math.log(1 - rnd()) * mean;

const NMAP_SERVICES = '/usr/share/nmap/nmap-services';

/** nmap's most frequent ports of `protocol` (its default scan), from its own table; ports 1-N when nmap is not installed. */
export function topPorts(protocol: Protocol, n: number): { ports: number[]; source: string } {
  let text: string;
  try {
    text = fs.readFileSync(NMAP_SERVICES, 'utf8');
  } catch {
    return { ports: Array.from({ length: n }, (_, i) => i + 1), source: `ports 1-${n} (${NMAP_SERVICES} not found)` };
  }
  const ranked = text
    .split('\n')
    .map((line) => /^\S+\s+(\d+)\/(tcp|udp)\s+([\d.]+)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2] === protocol)
    .map((m) => ({ port: Number(m[1]), frequency: Number(m[3]) }))
    .sort((a, b) => b.frequency - a.frequency || a.port - b.port);
  return { ports: ranked.slice(0, n).map((r) => r.port), source: `nmap's top ${n} ${protocol} ports (${NMAP_SERVICES})` };
}

/** The watched host of a scenario: its addresses and the services it offers. */
export interface Host {
  addresses: Address[];
  tcp: number[];
  udp: number[];
}

/** Builds a scenario's timeline: packets and socket changes, sorted at the end. */
export class Timeline {
  readonly events: Event[] = [];
  private conns = 0;

  packet(p: Packet): void {
    this.events.push({ kind: 'packet', packet: p });
  }

  socket(change: SocketChange): void {
    this.events.push({ kind: 'socket', change });
  }

  /** A service of the host for the whole scenario. */
  listen(protocol: Protocol, port: number, local: Address | null = null): void {
    this.socket({ t: -1, protocol, local, port, peer: null, peerPort: 0, open: true });
  }

  nextConn(): number {
    return ++this.conns;
  }

  /**
   * A TCP connection from `client` to `server`:`port` at `t`, as the watched side sees
   * it. `seen` says which packets arrive where the daemon watches: the client's
   * ('client', the daemon on the server or on the client's side of a gateway), the
   * server's answers ('server'), or both. `outcome` is what the SYN met. An
   * established connection lasts `duration`; `hostIsServer` adds its rows (and a
   * TIME_WAIT row when the server closes first) to the host's socket tables.
   */
  tcp(c: {
    t: number;
    client: Address;
    cport: number;
    server: Address;
    port: number;
    outcome: Outcome;
    duration?: number;
    serverCloses?: boolean;
    seen?: { client?: Side | true; server?: Side | true };
    hostIsServer?: boolean;
    scanner?: boolean;
    /** What the client does after a SYN+ACK: complete the connection, or reset it (a SYN scan). */
    halfOpen?: boolean;
    /** The gateway in front of `server`: a silent address may get its host unreachable (then the attempt was refused). */
    gateway?: Gateway;
  }): void {
    const conn = this.nextConn();
    const refusedAt = c.outcome === 'silent' && c.gateway !== undefined ? c.gateway.hostUnreachable(c.client, c.t) : null;
    const outcome: Outcome = refusedAt === null ? c.outcome : 'closed';
    const rtt = 0.5;
    const seenClient = c.seen?.client ?? true;
    const seenServer = c.seen?.server;
    const fromClient = (t: number, flags: number, extra: Partial<Packet> = {}): void => {
      if (seenClient === undefined) return;
      this.packet({
        t,
        saddr: c.client,
        daddr: c.server,
        sport: c.cport,
        dport: c.port,
        protocol: 'tcp',
        flags,
        ...(seenClient === true ? {} : { side: seenClient }),
        ...extra,
      });
    };
    const fromServer = (t: number, flags: number): void => {
      if (seenServer === undefined) return;
      this.packet({
        t,
        saddr: c.server,
        daddr: c.client,
        sport: c.port,
        dport: c.cport,
        protocol: 'tcp',
        flags,
        ...(seenServer === true ? {} : { side: seenServer }),
      });
    };
    fromClient(c.t, TH.SYN, { attempt: { outcome, conn }, ...(c.scanner === true ? { scanner: true } : {}) });
    if (refusedAt !== null) {
      const icmp = { t: refusedAt, code: 1, saddr: c.client, daddr: c.server, sport: c.cport, dport: c.port };
      this.events.push({ kind: 'unreachable', icmp });
      return;
    }
    if (c.outcome === 'closed') {
      fromServer(c.t + rtt / 2, TH.RST | TH.ACK);
      return;
    }
    if (c.outcome === 'silent') return;
    fromServer(c.t + rtt / 2, TH.SYN | TH.ACK);
    if (c.halfOpen === true) {
      fromClient(c.t + rtt, TH.RST);
      if (c.hostIsServer === true) this.row(c, c.t + rtt / 2, c.t + rtt);
      return;
    }
    const end = c.t + rtt + (c.duration ?? 1000);
    fromClient(c.t + rtt, TH.ACK);
    fromClient(c.t + rtt + 1, TH.PSH | TH.ACK);
    fromServer(c.t + rtt + 2, TH.PSH | TH.ACK);
    if (c.serverCloses === true) {
      fromServer(end, TH.FIN | TH.ACK);
      fromClient(end + rtt / 2, TH.FIN | TH.ACK);
      fromServer(end + rtt, TH.ACK);
      if (c.hostIsServer === true) this.row(c, c.t + rtt / 2, end + 60_000);
    } else {
      fromClient(end, TH.FIN | TH.ACK);
      fromServer(end + rtt / 2, TH.FIN | TH.ACK);
      fromClient(end + rtt, TH.ACK);
      if (c.hostIsServer === true) this.row(c, c.t + rtt / 2, end + rtt);
    }
  }

  /** The host's row of a connection from (from) to (until). */
  private row(c: { client: Address; cport: number; server: Address; port: number }, from: number, until: number): void {
    const row = { protocol: 'tcp' as Protocol, local: c.server, port: c.port, peer: c.client, peerPort: c.cport };
    this.socket({ t: from, ...row, open: true });
    this.socket({ t: until, ...row, open: false });
  }

  /** Events in time order; socket changes before packets of the same moment. */
  sorted(): Event[] {
    return this.events.sort((a, b) => eventTime(a) - eventTime(b) || (a.kind === b.kind ? 0 : a.kind === 'socket' ? -1 : 1));
  }
}

export const eventTime = (e: Event): number => (e.kind === 'packet' ? e.packet.t : e.kind === 'socket' ? e.change.t : e.icmp.t);

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
