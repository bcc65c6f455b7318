// The evaluation's scenarios: nmap's timing templates against the watched host
// (vertical) and across addresses (sweeps), and the benign traffic that slow-scan
// detectors are known to mistake for scans. Each builds its timeline from a fixed
// seed, so every run shows the same table.

import type { Protocol } from '../src/shared/record.js';
import { parseAddress } from '../src/shared/ipv4.js';
import {
  DAY,
  Gateway,
  HOUR,
  MINUTE,
  TH,
  Timeline,
  ip,
  random,
  shuffle,
  topPorts,
  wait,
  type Address,
  type Outcome,
  type Side,
} from './model.js';

/** Where the daemon watches: the raw socket or libpcap on the host, or libpcap on a gateway's outside device or on `any`. */
export type Vantage = 'raw' | 'pcap' | 'gateway-outside' | 'gateway-any';

export interface Scenario {
  id: string;
  group: 'vertical' | 'sweep' | 'benign';
  title: string;
  vantage: Vantage;
  udp?: boolean;
  ipv6?: boolean;
  /** The source of the scan; none in a benign scenario. */
  scanner?: Address;
  build(): Timeline;
}

const HOST = ip('198.18.0.1');
const HOST6 = ip('fd00:18::1');
const HOST_ADDRESSES = ['198.18.0.1', '198.18.0.3', '198.18.0.5', '198.18.0.7', '198.18.0.9', '198.18.0.11'].map(ip);
const TCP_OPEN = [22, 25, 80, 443, 993];
const UDP_OPEN = [53, 123];
const SCANNER = ip('198.19.7.7');
const SCANNER6 = ip('fd00:bad::7');
/** Scans start a minute in: the daemon has read the socket tables by then. */
const START = MINUTE;
/** This host's client ports (the kernel's default ip_local_port_range). */
const EPHEMERAL = { first: 32768, last: 60999 };

const ephemeral = (rnd: () => number): number => EPHEMERAL.first + Math.floor(rnd() * (EPHEMERAL.last - EPHEMERAL.first + 1));
const oneOf = <T>(items: readonly T[], rnd: () => number): T => items[Math.floor(rnd() * items.length)] as T;

/** The watched host's services, for the whole scenario. */
function services(t: Timeline, udp = false): void {
  for (const port of TCP_OPEN) t.listen('tcp', port);
  if (udp) for (const port of UDP_OPEN) t.listen('udp', port);
}

/** nmap's timing templates: the wait between probes (T3 to T5 have none; nmap then sends as fast as replies come). */
export const TEMPLATES: ReadonlyArray<{ name: string; gap: number; probes: number }> = [
  { name: 'T0', gap: 300_000, probes: 60 },
  { name: 'T1', gap: 15_000, probes: 200 },
  { name: 'T2', gap: 400, probes: 1000 },
  { name: 'T3', gap: 2, probes: 1000 },
  { name: 'T4', gap: 1, probes: 1000 },
  { name: 'T5', gap: 0.3, probes: 1000 },
];

/** nmap -sS (or -sU) of its top ports against one address, in its random order, one probe per port. */
function vertical(template: { name: string; gap: number; probes: number }, protocol: Protocol, ipv6 = false): Scenario {
  const target = ipv6 ? HOST6 : HOST;
  const scanner = ipv6 ? SCANNER6 : SCANNER;
  const top = topPorts(protocol, 1000);
  return {
    id: `v-${protocol}${ipv6 ? '6' : ''}-${template.name}`,
    group: 'vertical',
    title: `nmap -${protocol === 'tcp' ? 'sS' : 'sU'}${ipv6 ? ' -6' : ''} -${template.name}, top 1000 ports`,
    vantage: 'raw',
    udp: protocol === 'udp',
    ipv6,
    scanner,
    build() {
      const t = new Timeline();
      services(t, protocol === 'udp');
      const rnd = random(7);
      const open = protocol === 'tcp' ? TCP_OPEN : UDP_OPEN;
      const ports = shuffle(top.ports, rnd).slice(0, template.probes);
      const sport = 40000 + Math.floor(rnd() * 20000);
      ports.forEach((port, i) => {
        const at = START + i * template.gap;
        const outcome: Outcome = open.includes(port) ? 'open' : 'closed';
        if (protocol === 'tcp') {
          t.tcp({ t: at, client: scanner, cport: sport, server: target, port, outcome, halfOpen: true, hostIsServer: true, scanner: true });
        } else {
          const conn = t.nextConn();
          t.packet({
            t: at,
            saddr: scanner,
            daddr: target,
            sport,
            dport: port,
            protocol: 'udp',
            flags: 0,
            attempt: { outcome, conn },
            scanner: true,
          });
        }
      });
      return t;
    },
  };
}

/** nmap -Pn -p PORT across `targets` in random order; only probes to `visible` addresses reach the watched host. */
function hostSweep(template: { name: string; gap: number }, targets: Address[], label: string): Scenario {
  return {
    id: `s-host${targets.length}-${template.name}`,
    group: 'sweep',
    title: `nmap -Pn -p 445 -${template.name} across ${label}`,
    vantage: 'raw',
    scanner: SCANNER,
    build() {
      const t = new Timeline();
      services(t);
      const rnd = random(11);
      const mine = new Set(HOST_ADDRESSES.map(String));
      shuffle(targets, rnd).forEach((target, i) => {
        // The other hosts' probes go elsewhere: the watched host sees its own.
        if (!mine.has(String(target))) return;
        t.tcp({
          t: START + i * template.gap,
          client: SCANNER,
          cport: 51000,
          server: target,
          port: 445,
          outcome: 'closed',
          hostIsServer: true,
          scanner: true,
        });
      });
      return t;
    },
  };
}

/** The /24 behind the gateway: 20 hosts up (22 open on 5), the rest silent. */
const INSIDE = Array.from({ length: 254 }, (_, i) => ip(`198.18.100.${i + 1}`));

/** The directed broadcasts of the watched host's networks (its /24 and, as a gateway, the inside /24). */
export const HOST_BROADCASTS = ['198.18.0.255', '198.18.100.255'].map(parseAddress);
const insideOutcome = (i: number): Outcome => (i < 5 ? 'open' : i < 20 ? 'closed' : 'silent');

/** Sides of a gateway: the scanner's packets arrive outside, the inside hosts' answers inside. */
const throughGateway = { client: 'outside' as Side, server: 'inside' as Side };

/**
 * A sweep of the inside /24 from outside. The gateway answers each silent address with
 * its rate-limited host unreachable, or (`drops`) with nothing, as behind a firewall
 * that drops what it does not forward.
 */
function gatewaySweep(template: { name: string; gap: number }, vantage: 'gateway-outside' | 'gateway-any', drops = false): Scenario {
  const where = vantage === 'gateway-any' ? 'any' : 'its outside device';
  return {
    id: `s-gw-${vantage === 'gateway-any' ? 'any' : 'out'}-${template.name}${drops ? '-drop' : ''}`,
    group: 'sweep',
    title: `nmap -Pn -p 22 -${template.name} across a /24 behind a gateway${drops ? ' that drops silently' : ''}, watched on ${where}`,
    vantage,
    scanner: SCANNER,
    build() {
      const t = new Timeline();
      // The gateway's own ssh, on every address: no inside host's port.
      t.listen('tcp', 22);
      const rnd = random(13);
      const gateway = new Gateway(!drops);
      const order = shuffle(
        INSIDE.map((a, i) => ({ a, i })),
        rnd,
      );
      order.forEach(({ a, i }, n) => {
        t.tcp({
          t: START + n * template.gap,
          client: SCANNER,
          cport: 52000,
          server: a,
          port: 22,
          outcome: insideOutcome(i),
          halfOpen: true,
          seen: throughGateway,
          scanner: true,
          gateway,
        });
      });
      return t;
    },
  };
}

/** A client's connection to an open service of the watched host. */
function visit(t: Timeline, rnd: () => number, at: number, client: Address, port: number, meanDuration: number): void {
  t.tcp({
    t: at,
    client,
    cport: ephemeral(rnd),
    server: HOST,
    port,
    outcome: TCP_OPEN.includes(port) ? 'open' : 'closed',
    duration: wait(rnd, meanDuration),
    serverCloses: rnd() < 0.5,
    hostIsServer: true,
  });
}

/** Calls `each` at Poisson times with mean gap `mean` over [from, to). */
function poisson(rnd: () => number, mean: number, from: number, to: number, each: (at: number) => void): void {
  for (let at = from + wait(rnd, mean); at < to; at += wait(rnd, mean)) each(at);
}

function natClients(t: Timeline, rnd: () => number, nat: Address): void {
  const weights: Array<[number, number]> = [
    [25, 0.05],
    [80, 0.25],
    [443, 0.6],
    [993, 0.1],
  ];
  // 200 clients, one connection each every 5 minutes on average.
  poisson(rnd, (5 * MINUTE) / 200, 0, DAY, (at) => {
    let r = rnd();
    const port = weights.find(([, w]) => (r -= w) < 0)?.[0] ?? 443;
    visit(t, rnd, at, nat, port, 30_000);
  });
}

/** A UDP datagram the watched host receives. */
function datagram(
  t: Timeline,
  at: number,
  saddr: Address,
  sport: number,
  dport: number,
  extra: { stray?: boolean; daddr?: Address } = {},
): void {
  t.packet({
    t: at,
    saddr,
    daddr: extra.daddr ?? HOST,
    sport,
    dport,
    protocol: 'udp',
    flags: 0,
    ...(extra.stray === true ? { stray: true } : {}),
  });
}

/** A UDP first contact to the host's `port`, labelled with what it met. */
function udpContact(t: Timeline, at: number, saddr: Address, sport: number, port: number, outcome: Outcome): void {
  t.packet({ t: at, saddr, daddr: HOST, sport, dport: port, protocol: 'udp', flags: 0, attempt: { outcome, conn: t.nextConn() } });
}

const BENIGN: Scenario[] = [
  {
    id: 'b-client',
    group: 'benign',
    title: 'a client using three open services all day (ssh, https, imaps)',
    vantage: 'raw',
    build() {
      const t = new Timeline();
      services(t);
      const rnd = random(21);
      const client = ip('198.18.9.10');
      for (let h = 0; h < 24; h += 6) visit(t, rnd, h * HOUR + rnd() * HOUR, client, 22, 2 * HOUR);
      poisson(rnd, 3 * MINUTE, 0, DAY, (at) => visit(t, rnd, at, client, 443, 20_000));
      poisson(rnd, 10 * MINUTE, 0, DAY, (at) => visit(t, rnd, at, client, 993, 30_000));
      return t;
    },
  },
  {
    id: 'b-nat',
    group: 'benign',
    title: 'a NAT gateway with 200 clients on open ports (25, 80, 443, 993)',
    vantage: 'raw',
    build() {
      const t = new Timeline();
      services(t);
      natClients(t, random(22), ip('198.18.9.20'));
      return t;
    },
  },
  {
    id: 'b-nat-misconf',
    group: 'benign',
    title: 'the same, with clients retrying closed 8080, 8443, 465 and 587 all day',
    vantage: 'raw',
    build() {
      const t = new Timeline();
      services(t);
      const rnd = random(23);
      const nat = ip('198.18.9.20');
      natClients(t, rnd, nat);
      for (const [port, every] of [
        [8080, 30 * MINUTE],
        [8443, 45 * MINUTE],
        [465, HOUR],
        [587, HOUR],
      ] as const) {
        poisson(rnd, every, 0, DAY, (at) => visit(t, rnd, at, nat, port, 1000));
      }
      return t;
    },
  },
  {
    id: 'b-replies',
    group: 'benign',
    title: "DNS, NTP, QUIC and STUN replies to this host's clients, late ones included (--udp)",
    vantage: 'raw',
    udp: true,
    build() {
      const t = new Timeline();
      services(t, true);
      const rnd = random(24);
      const resolver = ip('198.18.9.53');
      const ntp = ip('198.18.9.123');
      const quic = ip('198.18.9.44');
      const stun = ip('198.18.9.78');
      // Answers come from the servers' ports to this host's client ports; 3% arrive
      // after the client gave up and closed its socket.
      poisson(rnd, DAY / 3000, 0, DAY, (at) => datagram(t, at, resolver, 53, ephemeral(rnd), { stray: rnd() < 0.03 }));
      poisson(rnd, 64_000, 0, DAY, (at) => datagram(t, at, ntp, 123, ephemeral(rnd), { stray: rnd() < 0.03 }));
      poisson(rnd, 10 * MINUTE, 0, DAY, (at) => {
        const port = ephemeral(rnd);
        const n = 5 + Math.floor(rnd() * 50);
        for (let i = 0; i < n; i++) datagram(t, at + i * 50, quic, 443, port);
        if (rnd() < 0.3) datagram(t, at + n * 50 + 5000, quic, 443, port, { stray: true });
      });
      // A STUN server answers from a high port, to a connected socket of this host
      // (a row in its tables) while the call lasts, sometimes once more after it.
      poisson(rnd, HOUR, 0, DAY, (at) => {
        const port = ephemeral(rnd);
        const length = wait(rnd, 10 * MINUTE);
        t.socket({ t: at, protocol: 'udp', local: HOST, port, peer: stun, peerPort: 3478, open: true });
        t.socket({ t: at + length, protocol: 'udp', local: HOST, port, peer: stun, peerPort: 3478, open: false });
        for (let s = at + 100; s < at + length; s += 30_000) datagram(t, s, stun, 3478, port);
        if (rnd() < 0.3) datagram(t, at + length + 5000, stun, 3478, port, { stray: true });
      });
      return t;
    },
  },
  {
    id: 'b-late',
    group: 'benign',
    title: 'late FIN, RST and retransmits after connections ended (both directions)',
    vantage: 'raw',
    build() {
      const t = new Timeline();
      services(t);
      const rnd = random(25);
      const late = (at: number, saddr: Address, sport: number, dport: number): void => {
        for (const flags of [TH.PSH | TH.ACK, TH.FIN | TH.ACK, TH.RST | TH.ACK, TH.RST]) {
          t.packet({ t: at + rnd() * 30_000, saddr, daddr: HOST, sport, dport, protocol: 'tcp', flags, stray: true });
        }
      };
      // Clients of this host's https whose connections it reset, and servers this host
      // was a client of, after its socket closed.
      poisson(rnd, 36_000, 0, DAY, (at) => late(at, ip(`198.18.9.${100 + Math.floor(rnd() * 50)}`), ephemeral(rnd), 443));
      poisson(rnd, 36_000, 0, DAY, (at) => late(at, ip(`198.18.9.${200 + Math.floor(rnd() * 50)}`), 443, ephemeral(rnd)));
      return t;
    },
  },
  {
    id: 'b-backscatter',
    group: 'benign',
    title: "backscatter: answers to floods that spoofed this host's address (20,000 a day)",
    vantage: 'raw',
    build() {
      const t = new Timeline();
      services(t);
      const rnd = random(26);
      poisson(rnd, DAY / 20000, 0, DAY, (at) => {
        const r = rnd();
        const flags = r < 0.6 ? TH.SYN | TH.ACK : r < 0.9 ? TH.RST | TH.ACK : TH.RST;
        const victim = ip(`198.19.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`);
        t.packet({
          t: at,
          saddr: victim,
          daddr: HOST,
          sport: oneOf([80, 443, 22, 53], rnd),
          dport: 1 + Math.floor(rnd() * 65535),
          protocol: 'tcp',
          flags,
          stray: true,
        });
      });
      return t;
    },
  },
  ...(['raw', 'pcap'] as const).map((vantage): Scenario => ({
    id: `b-ftp-${vantage}`,
    group: 'benign',
    title: `passive FTP: 100 data connections, each to a port open for a moment (${vantage === 'raw' ? 'raw socket' : 'libpcap'})`,
    vantage,
    build() {
      const t = new Timeline();
      services(t);
      t.listen('tcp', 21);
      const rnd = random(27);
      const client = ip('198.18.9.30');
      t.tcp({ t: 1000, client, cport: 40001, server: HOST, port: 21, outcome: 'open', duration: 3 * HOUR, hostIsServer: true });
      for (let i = 0; i < 100; i++) {
        const at = 10_000 + i * 100_000 + rnd() * 10_000;
        const port = 40000 + Math.floor(rnd() * 10000);
        // The server listens on the data port from its PASV answer until it accepts.
        t.socket({ t: at, protocol: 'tcp', local: HOST, port, peer: null, peerPort: 0, open: true });
        t.socket({ t: at + 10, protocol: 'tcp', local: HOST, port, peer: null, peerPort: 0, open: false });
        t.tcp({
          t: at + 5,
          client,
          cport: ephemeral(rnd),
          server: HOST,
          port,
          outcome: 'open',
          duration: 1000 + rnd() * 59_000,
          serverCloses: rnd() < 0.7,
          hostIsServer: true,
        });
      }
      return t;
    },
  })),
  {
    id: 'b-bittorrent',
    group: 'benign',
    title: 'a BitTorrent client: 300 peers, 40 of them also trying its old port (--udp)',
    vantage: 'raw',
    udp: true,
    build() {
      const t = new Timeline();
      services(t, true);
      t.listen('tcp', 51413);
      t.listen('udp', 51413);
      const rnd = random(28);
      const peer = (n: number): Address => ip(`198.19.${64 + (n >> 8)}.${n & 0xff || 1}`);
      for (let n = 0; n < 300; n++) {
        const at = rnd() * DAY;
        const p = peer(n);
        t.tcp({
          t: at,
          client: p,
          cport: 1024 + Math.floor(rnd() * 60000),
          server: HOST,
          port: 51413,
          outcome: 'open',
          duration: wait(rnd, 10 * MINUTE),
          hostIsServer: true,
        });
        const uport = 1024 + Math.floor(rnd() * 60000);
        for (let i = 0; i < 3; i++) udpContact(t, at + i * 20_000, p, uport, 51413, 'open');
        if (n < 40) {
          for (let i = 0, k = 1 + Math.floor(rnd() * 3); i < k; i++) {
            const retry = at + 60_000 + i * 2 * MINUTE;
            t.tcp({
              t: retry,
              client: p,
              cport: 1024 + Math.floor(rnd() * 60000),
              server: HOST,
              port: 6881,
              outcome: 'closed',
              hostIsServer: true,
            });
            udpContact(t, retry + 500, p, uport, 6881, 'closed');
          }
        }
      }
      // One peer keeps a stale entry for the old port all day.
      const stale = ip('198.19.66.66');
      for (let at = 0; at < DAY; at += 10 * MINUTE) {
        t.tcp({
          t: at,
          client: stale,
          cport: 1024 + Math.floor(rnd() * 60000),
          server: HOST,
          port: 6881,
          outcome: 'closed',
          hostIsServer: true,
        });
        udpContact(t, at + 500, stale, 6881, 6881, 'closed');
      }
      return t;
    },
  },
  {
    id: 'b-health',
    group: 'benign',
    title: 'health checks: a balancer on 80, 443 and a down 8080 every 5 s; monitoring of 7 ports every 5 min',
    vantage: 'raw',
    build() {
      const t = new Timeline();
      services(t);
      // A database that listens on loopback only: closed to the network.
      t.listen('tcp', 3306, ip('127.0.0.1'));
      const rnd = random(29);
      const balancer = ip('198.18.9.40');
      const monitor = ip('198.18.9.41');
      for (let at = 0; at < DAY; at += 5000) {
        for (const port of [80, 443, 8080]) visit(t, rnd, at + rnd() * 100, balancer, port, 50);
      }
      for (let at = 0; at < DAY; at += 5 * MINUTE) {
        for (const port of [22, 25, 80, 443, 993, 3306, 5432]) visit(t, rnd, at + rnd() * 1000, monitor, port, 100);
      }
      return t;
    },
  },
  {
    id: 'b-lan',
    group: 'benign',
    title: 'LAN chatter from 20 neighbours: NetBIOS, SSDP, mDNS, LLMNR, LAN sync broadcasts (--udp)',
    vantage: 'raw',
    udp: true,
    build() {
      const t = new Timeline();
      services(t, true);
      const rnd = random(30);
      const chatter: Array<[string, number, number]> = [
        ['198.18.0.255', 137, 12 * MINUTE],
        ['198.18.0.255', 138, 12 * MINUTE],
        ['239.255.255.250', 1900, 3 * MINUTE],
        ['224.0.0.251', 5353, 2 * MINUTE],
        ['224.0.0.252', 5355, 20 * MINUTE],
        ['255.255.255.255', 67, HOUR],
        ['198.18.0.255', 17500, 30_000],
      ];
      for (let n = 0; n < 20; n++) {
        const neighbour = ip(`198.18.0.${20 + n}`);
        for (const [group, port, every] of chatter) {
          const daddr = ip(group);
          poisson(rnd, every, 0, DAY, (at) => datagram(t, at, neighbour, port, port, { daddr }));
        }
      }
      return t;
    },
  },
  {
    id: 'b-traceroute',
    group: 'benign',
    title: 'traceroute (UDP) to this host, 5 runs a day (--udp)',
    vantage: 'raw',
    udp: true,
    build() {
      const t = new Timeline();
      services(t, true);
      const rnd = random(31);
      const source = ip('198.18.9.60');
      for (let run = 0; run < 5; run++) {
        const at = rnd() * DAY;
        // Six hops: of the first 16 probes (TTL 1 to 6) the 16th reaches the host, then two more.
        for (let i = 0; i < 3; i++) udpContact(t, at + 50 + i * 10, source, 40000 + run, 33434 + 15 + i, 'closed');
      }
      return t;
    },
  },
  ...(['gateway-outside', 'gateway-any'] as const).map((vantage): Scenario => ({
    id: `b-gw-web-${vantage === 'gateway-any' ? 'any' : 'out'}`,
    group: 'benign',
    title: `a NAT's users on 6 web servers behind a gateway (and an absent address an hour), watched on ${vantage === 'gateway-any' ? 'any' : 'its outside device'}`,
    vantage,
    build() {
      const t = new Timeline();
      t.listen('tcp', 22);
      const rnd = random(32);
      const nat = ip('198.19.50.1');
      poisson(rnd, 5000, 0, DAY, (at) => {
        t.tcp({
          t: at,
          client: nat,
          cport: 1024 + Math.floor(rnd() * 60000),
          server: INSIDE[Math.floor(rnd() * 6)] as Address,
          port: 443,
          outcome: 'open',
          duration: Math.min(10 * MINUTE, wait(rnd, 30_000)),
          serverCloses: rnd() < 0.4,
          seen: throughGateway,
        });
      });
      // Users who mistype an address, or keep one of a server gone: one an hour to an
      // absent inside address, which the gateway answers with host unreachable.
      const gateway = new Gateway(true);
      poisson(rnd, HOUR, 0, DAY, (at) => {
        t.tcp({
          t: at,
          client: nat,
          cport: 1024 + Math.floor(rnd() * 60000),
          server: INSIDE[20 + Math.floor(rnd() * 234)] as Address,
          port: 443,
          outcome: 'silent',
          seen: throughGateway,
          gateway,
        });
      });
      return t;
    },
  })),
];

/** Every scenario, in the order of the table. */
export function scenarios(): Scenario[] {
  const byName = (name: string): { name: string; gap: number; probes: number } =>
    TEMPLATES.find((x) => x.name === name) as (typeof TEMPLATES)[number];
  const slash24 = Array.from({ length: 254 }, (_, i) => ip(`198.18.0.${i + 1}`));
  return [
    ...TEMPLATES.map((x) => vertical(x, 'tcp')),
    vertical(byName('T1'), 'udp'),
    vertical(byName('T0'), 'udp'),
    vertical(byName('T1'), 'tcp', true),
    vertical(byName('T0'), 'tcp', true),
    ...TEMPLATES.map((x) => hostSweep(x, HOST_ADDRESSES, "the host's 6 addresses")),
    hostSweep(byName('T1'), slash24, 'the /24 holding them'),
    gatewaySweep(byName('T0'), 'gateway-outside'),
    gatewaySweep(byName('T1'), 'gateway-outside'),
    gatewaySweep(byName('T3'), 'gateway-outside'),
    gatewaySweep(byName('T1'), 'gateway-outside', true),
    gatewaySweep(byName('T3'), 'gateway-outside', true),
    gatewaySweep(byName('T1'), 'gateway-any'),
    ...BENIGN,
  ];
}

export { EPHEMERAL, TCP_OPEN, UDP_OPEN, HOST_ADDRESSES };
