// Trusted sources and destination ports whose packets never count towards a scan:
// strict parsers for --ignore-source and --ignore-port, and the fixed-cost test the
// capture process makes on each record before it is sent to the monitor.

import { InvalidArgumentError } from 'commander';
import { formatAddress, parseAddress } from './ipv4.js';
import { Offset } from './record.js';

/**
 * Entries per list. The source test is a binary search over merged ranges, so the
 * cap bounds memory and start-up work more than per-packet cost; a thousand networks
 * is already far beyond a list of trusted scanners and monitoring hosts.
 */
export const MAX_IGNORE_SOURCES = 1024;
export const MAX_IGNORE_PORTS = 1024;

/** An IPv4 network: `base` has no bits outside the prefix. */
export interface Cidr {
  base: number;
  prefix: number;
}

export interface PortRange {
  first: number;
  last: number;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * `a.b.c.d` (one host) or `a.b.c.d/n` with n from 1 to 32, the address as parseAddress
 * reads it. Host bits below the prefix are refused too: `10.0.0.1/8` is far more often
 * a typo for a /32 than a wish to trust sixteen million addresses.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  let base: number;
  try {
    base = parseAddress(address);
  } catch {
    throw new InvalidArgumentError('must be an IPv4 address or network such as 198.51.100.7 or 203.0.113.0/24.');
  }
  let prefix = 32;
  if (slash >= 0) {
    const bits = text.slice(slash + 1);
    if (!/^([1-9]|[12]\d|3[0-2])$/.test(bits)) {
      throw new InvalidArgumentError('the prefix length must be a whole number from 1 to 32 (/0 would ignore every source).');
    }
    prefix = Number(bits);
  }
  const network = (base & maskOf(prefix)) >>> 0;
  if (network !== base) {
    throw new InvalidArgumentError(`has host bits set; the network is ${formatAddress(network)}/${prefix}.`);
  }
  return { base, prefix };
}

/** `PORT` or `FIRST-LAST`, each from 1 to 65535, FIRST <= LAST. */
export function parsePortRange(text: string): PortRange {
  const m = /^([1-9]\d{0,4})(?:-([1-9]\d{0,4}))?$/.exec(text);
  const first = m === null ? NaN : Number(m[1]);
  const last = m === null ? NaN : m[2] === undefined ? first : Number(m[2]);
  if (!(first <= 65535 && last <= 65535)) {
    throw new InvalidArgumentError('must be a port from 1 to 65535 or a range such as 50000-51000.');
  }
  if (first > last) throw new InvalidArgumentError(`is a reversed range; write ${last}-${first}.`);
  return { first, last };
}

export function formatCidr(c: Cidr): string {
  return c.prefix === 32 ? formatAddress(c.base) : `${formatAddress(c.base)}/${c.prefix}`;
}

export function formatPortRange(r: PortRange): string {
  return r.first === r.last ? String(r.first) : `${r.first}-${r.last}`;
}

/**
 * Decides per record whether the monitor should ever see it. Sources are kept as
 * sorted, merged, disjoint ranges (a binary search, at most 11 steps for the full
 * list); ports as a 65536-bit map. Both are sized at start-up and never grow.
 */
export class IgnoreFilter {
  private readonly rangeStart: Uint32Array;
  private readonly rangeEnd: Uint32Array;
  private readonly portBits = new Uint32Array(65536 / 32);
  readonly empty: boolean;

  constructor(sources: readonly Cidr[], ports: readonly PortRange[]) {
    const ranges = sources
      .map((c) => [c.base, c.base + 2 ** (32 - c.prefix) - 1] as [number, number])
      .sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last !== undefined && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    this.rangeStart = Uint32Array.from(merged, (r) => r[0]);
    this.rangeEnd = Uint32Array.from(merged, (r) => r[1]);
    for (const r of ports) {
      for (let p = r.first; p <= r.last; p++) this.portBits[p >>> 5] = ((this.portBits[p >>> 5] as number) | (1 << (p & 31))) >>> 0;
    }
    this.empty = merged.length === 0 && ports.length === 0;
  }

  /** The filter for these lists, or null when they are empty and nothing is ever ignored. */
  static build(sources: readonly Cidr[], ports: readonly PortRange[]): IgnoreFilter | null {
    const filter = new IgnoreFilter(sources, ports);
    return filter.empty ? null : filter;
  }

  ignoresSource(saddr: number): boolean {
    let lo = 0;
    let hi = this.rangeStart.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (saddr < (this.rangeStart[mid] as number)) hi = mid - 1;
      else if (saddr > (this.rangeEnd[mid] as number)) lo = mid + 1;
      else return true;
    }
    return false;
  }

  ignoresPort(dport: number): boolean {
    return ((this.portBits[dport >>> 5] as number) & (1 << (dport & 31))) !== 0;
  }

  /** Whether the encoded record at `offset` of `buf` is to be dropped. */
  ignoresRecord(buf: Buffer, offset: number): boolean {
    return this.ignoresPort(buf.readUInt16BE(offset + Offset.dport)) || this.ignoresSource(buf.readUInt32BE(offset + Offset.saddr));
  }
}
