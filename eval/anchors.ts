// The published rules of the slow-scan detectors the field uses, as small reference
// implementations: each takes the scenario's packets with what their first contacts
// met (the ground truth a network monitor derives from both directions, or a host
// firewall logs) and says when it would alert, on which source. They model each
// detector's counting rule, window and threshold as its documentation and source
// give them, not the whole program.

import { addressText } from '../src/monitor/addresses.js';
import type { Address, Packet } from './model.js';
import { MINUTE } from './model.js';

export interface Alert {
  source: string;
  t: number;
  what: 'port scan' | 'sweep';
}

export interface Anchor {
  readonly name: string;
  feed(p: Packet): Alert | null;
}

export const key = (a: Address): string => addressText(a);

/** A first contact that failed: a closed port or no answer at all. */
const failed = (p: Packet): boolean => p.attempt !== undefined && p.attempt.outcome !== 'open';

/** What a host firewall that drops closed ports logs: failed contacts and stray packets (late, backscatter). */
const firewallLogs = (p: Packet): boolean => failed(p) || p.stray === true;

/** A per-source record that a detector forgets once it is older than its window. */
class PerSource<S> {
  private readonly states = new Map<string, S>();
  constructor(private readonly fresh: () => S) {}
  get(source: string): S {
    let s = this.states.get(source);
    if (s === undefined) {
      s = this.fresh();
      this.states.set(source, s);
    }
    return s;
  }
  reset(source: string): S {
    const s = this.fresh();
    this.states.set(source, s);
    return s;
  }
}

/** Distinct values per key (a port's hosts, a host's ports). */
function addTo(map: Map<string, Set<string>>, k: string, v: string): number {
  let set = map.get(k);
  if (set === undefined) {
    set = new Set();
    map.set(k, set);
  }
  set.add(v);
  return set.size;
}

/**
 * Snort 3 port_scan at sense_level high: a tumbling window of 600 s per scanner. A
 * port scan is at least 5 rejected probes (RST or ICMP unreachable answers) and 10
 * distinct ports on fewer than 100 hosts; a port sweep at least 3 rejected probes on
 * 3 hosts or more with at most 10 distinct ports.
 */
export function snort(): Anchor {
  interface S {
    start: number;
    rejects: number;
    hosts: Set<string>;
    ports: Set<number>;
    alerted: boolean;
  }
  const fresh = (): S => ({ start: -Infinity, rejects: 0, hosts: new Set(), ports: new Set(), alerted: false });
  const table = new PerSource(fresh);
  return {
    name: 'Snort 3 port_scan (high)',
    feed(p) {
      if (p.attempt === undefined) return null;
      const source = key(p.saddr);
      let s = table.get(source);
      if (p.t - s.start >= 600_000) {
        s = table.reset(source);
        s.start = p.t;
      }
      if (p.attempt.outcome === 'closed') s.rejects++;
      s.hosts.add(key(p.daddr));
      s.ports.add(p.dport);
      if (s.alerted) return null;
      if (s.rejects >= 5 && s.ports.size >= 10 && s.hosts.size < 100) {
        s.alerted = true;
        return { source, t: p.t, what: 'port scan' };
      }
      if (s.rejects >= 3 && s.hosts.size >= 3 && s.ports.size <= 10) {
        s.alerted = true;
        return { source, t: p.t, what: 'sweep' };
      }
      return null;
    },
  };
}

/**
 * Zeek's scan.zeek: failed connections only (rejected or unanswered), counted in
 * 5-minute epochs; 15 ports of one host make a port scan, 25 hosts on one port an
 * address scan.
 */
export function zeek(): Anchor {
  interface S {
    epoch: number;
    portsOfHost: Map<string, Set<string>>;
    hostsOfPort: Map<string, Set<string>>;
    alerted: boolean;
  }
  const table = new PerSource<S>(() => ({ epoch: -1, portsOfHost: new Map(), hostsOfPort: new Map(), alerted: false }));
  return {
    name: 'Zeek scan.zeek',
    feed(p) {
      if (!failed(p)) return null;
      const source = key(p.saddr);
      const epoch = Math.floor(p.t / (5 * MINUTE));
      let s = table.get(source);
      if (s.epoch !== epoch) {
        const alerted = s.alerted;
        s = table.reset(source);
        s.epoch = epoch;
        s.alerted = alerted;
      }
      const ports = addTo(s.portsOfHost, key(p.daddr), `${p.protocol}${p.dport}`);
      const hosts = addTo(s.hostsOfPort, `${p.protocol}${p.dport}`, key(p.daddr));
      if (s.alerted) return null;
      if (ports >= 15) return ((s.alerted = true), { source, t: p.t, what: 'port scan' });
      if (hosts >= 25) return ((s.alerted = true), { source, t: p.t, what: 'sweep' });
      return null;
    },
  };
}

/**
 * ncsa/bro-simple-scan: failed attempts, kept until the scanner is idle for 15
 * minutes; 25 ports of a host make a port scan, 20 hosts on a port an address scan.
 */
export function simpleScan(): Anchor {
  interface S {
    last: number;
    portsOfHost: Map<string, Set<string>>;
    hostsOfPort: Map<string, Set<string>>;
    alerted: boolean;
  }
  const table = new PerSource<S>(() => ({ last: -Infinity, portsOfHost: new Map(), hostsOfPort: new Map(), alerted: false }));
  return {
    name: 'bro-simple-scan',
    feed(p) {
      if (!failed(p)) return null;
      const source = key(p.saddr);
      let s = table.get(source);
      if (p.t - s.last > 15 * MINUTE) s = table.reset(source);
      s.last = p.t;
      const ports = addTo(s.portsOfHost, key(p.daddr), `${p.protocol}${p.dport}`);
      const hosts = addTo(s.hostsOfPort, `${p.protocol}${p.dport}`, key(p.daddr));
      if (s.alerted) return null;
      if (ports >= 25) return ((s.alerted = true), { source, t: p.t, what: 'port scan' });
      if (hosts >= 20) return ((s.alerted = true), { source, t: p.t, what: 'sweep' });
      return null;
    },
  };
}

/**
 * psad with its default alert level (danger level 1): every packet the host firewall
 * logs counts, within an hour of the source's previous one; 5 packets are danger
 * level 1; 10 distinct hosts a sweep.
 */
export function psad(): Anchor {
  interface S {
    last: number;
    packets: number;
    hosts: Set<string>;
    alerted: boolean;
  }
  const table = new PerSource<S>(() => ({ last: -Infinity, packets: 0, hosts: new Set(), alerted: false }));
  return {
    name: 'psad (danger level 1)',
    feed(p) {
      if (!firewallLogs(p)) return null;
      const source = key(p.saddr);
      let s = table.get(source);
      if (p.t - s.last > 60 * MINUTE) s = table.reset(source);
      s.last = p.t;
      s.packets++;
      s.hosts.add(key(p.daddr));
      if (s.alerted) return null;
      if (s.hosts.size >= 10) return ((s.alerted = true), { source, t: p.t, what: 'sweep' });
      if (s.packets >= 5) return ((s.alerted = true), { source, t: p.t, what: 'port scan' });
      return null;
    },
  };
}

/**
 * TRW (Jung et al. 2004) with its published parameters: a first contact succeeds with
 * probability 0.8 for a benign source and 0.2 for a scanner; P_D 0.99 and P_F 0.01
 * set the thresholds (99 and 0.0101). A first contact here is a (host, port) pair,
 * so that a vertical scan is tested too (the paper's unit is the host); state expires
 * 30 minutes after its last change, as in Bro's trw.bro. Once a source is found
 * benign, the test stops for it.
 */
export function trw(): Anchor {
  const up = Math.log(0.8 / 0.2);
  const down = Math.log(0.2 / 0.8);
  const eta1 = Math.log(0.99 / 0.01);
  const eta0 = Math.log(0.01 / 0.99);
  interface S {
    last: number;
    seen: Set<string>;
    llr: number;
    decided: boolean;
  }
  const table = new PerSource<S>(() => ({ last: -Infinity, seen: new Set(), llr: 0, decided: false }));
  return {
    name: 'TRW (P_D 0.99, P_F 0.01)',
    feed(p) {
      if (p.attempt === undefined) return null;
      const source = key(p.saddr);
      let s = table.get(source);
      if (p.t - s.last > 30 * MINUTE) s = table.reset(source);
      const contact = `${key(p.daddr)}/${p.protocol}${p.dport}`;
      if (s.decided || s.seen.has(contact)) return null;
      s.seen.add(contact);
      s.last = p.t;
      s.llr += p.attempt.outcome === 'open' ? down : up;
      if (s.llr >= eta1) return ((s.decided = true), { source, t: p.t, what: 'port scan' });
      if (s.llr <= eta0) s.decided = true;
      return null;
    },
  };
}

/**
 * CrowdSec's iptables-scan-multi_ports: a leaky bucket per source of the TCP packets
 * the firewall drops, distinct by port, capacity 15, leaking one every 5 s; it
 * overflows on the 16th port held at once.
 */
export function crowdsec(): Anchor {
  interface S {
    level: number;
    at: number;
    ports: Set<number>;
    alerted: boolean;
  }
  const table = new PerSource<S>(() => ({ level: 0, at: 0, ports: new Set(), alerted: false }));
  return {
    name: 'CrowdSec multi_ports',
    feed(p) {
      if (p.protocol !== 'tcp' || !firewallLogs(p)) return null;
      const source = key(p.saddr);
      let s = table.get(source);
      const level = s.level - (p.t - s.at) / 5000;
      // An empty bucket is gone, and with it the ports it had seen.
      if (level <= 0) s = table.reset(source);
      else s.level = level;
      s.at = p.t;
      if (s.ports.has(p.dport)) return null;
      s.ports.add(p.dport);
      s.level++;
      if (s.level > 15 && !s.alerted) return ((s.alerted = true), { source, t: p.t, what: 'port scan' });
      return null;
    },
  };
}

export const ANCHORS: ReadonlyArray<() => Anchor> = [snort, zeek, simpleScan, psad, trw, crowdsec];
