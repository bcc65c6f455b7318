// Trusted sources and destination ports whose packets never count towards a scan:
// strict parsers for --ignore-source and --ignore-port, and the fixed-cost test the
// capture process makes on each record before it is sent to the monitor.

import { InvalidArgumentError } from 'commander';
import { formatAddress, parseAddress } from './ipv4.js';
import { formatAddress6, parseAddress6 } from './ipv6.js';
import { Offset, Offset6, RecordType } from './record.js';

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

/** An IPv6 network: four words, most significant first, no bits outside the prefix. */
export interface Cidr6 {
  base6: Uint32Array;
  prefix: number;
}

/** An entry of --ignore-source: IPv4 or (with --ipv6) IPv6. */
export type SourceNetwork = Cidr | Cidr6;

export function isCidr6(c: SourceNetwork): c is Cidr6 {
  return 'base6' in c;
}

export interface PortRange {
  first: number;
  last: number;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The 128-bit value of four address words. */
function wordsToBigInt(words: ArrayLike<number>): bigint {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(words[i] as number);
  return v;
}

function bigIntToWords(v: bigint): Uint32Array {
  const words = new Uint32Array(4);
  for (let i = 3; i >= 0; i--) {
    words[i] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
  return words;
}

const ALL_ONES_128 = (1n << 128n) - 1n;

/** `addr` or `addr/n` with n from 1 to 128, the address as parseAddress6 reads it. */
function parseCidr6(text: string): Cidr6 {
  const slash = text.indexOf('/');
  let base6: Uint32Array;
  try {
    base6 = parseAddress6(slash < 0 ? text : text.slice(0, slash));
  } catch {
    throw new InvalidArgumentError('must be an IPv6 address or network such as 2001:db8::7 or 2001:db8:1::/48.');
  }
  let prefix = 128;
  if (slash >= 0) {
    const bits = text.slice(slash + 1);
    if (!/^([1-9]\d?|1[01]\d|12[0-8])$/.test(bits)) {
      throw new InvalidArgumentError('the prefix length must be a whole number from 1 to 128 (/0 would ignore every source).');
    }
    prefix = Number(bits);
  }
  const value = wordsToBigInt(base6);
  const network = value & (ALL_ONES_128 ^ ((1n << BigInt(128 - prefix)) - 1n));
  if (network !== value) {
    throw new InvalidArgumentError(`has host bits set; the network is ${formatAddress6(bigIntToWords(network))}/${prefix}.`);
  }
  return { base6, prefix };
}

/**
 * `a.b.c.d` (one host) or `a.b.c.d/n` with n from 1 to 32, the address as parseAddress
 * reads it, or an IPv6 address or network (anything with a colon). Host bits below
 * the prefix are refused too: `10.0.0.1/8` is far more often a typo for a /32 than a
 * wish to trust sixteen million addresses.
 */
export function parseCidr(text: string): SourceNetwork {
  if (text.includes(':')) return parseCidr6(text);
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

export function formatCidr(c: SourceNetwork): string {
  if (isCidr6(c)) return c.prefix === 128 ? formatAddress6(c.base6) : `${formatAddress6(c.base6)}/${c.prefix}`;
  return c.prefix === 32 ? formatAddress(c.base) : `${formatAddress(c.base)}/${c.prefix}`;
}

/** Sorted, merged, disjoint ranges of IPv6 addresses, as first and last words. */
function mergeRanges6(networks: readonly Cidr6[]): { start: Uint32Array; end: Uint32Array } {
  const ranges = networks
    .map((c) => {
      const first = wordsToBigInt(c.base6);
      return [first, first + (1n << BigInt(128 - c.prefix)) - 1n] as [bigint, bigint];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: Array<[bigint, bigint]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r[0] <= last[1] + 1n) last[1] = last[1] > r[1] ? last[1] : r[1];
    else merged.push([r[0], r[1]]);
  }
  const start = new Uint32Array(merged.length * 4);
  const end = new Uint32Array(merged.length * 4);
  merged.forEach((r, i) => {
    start.set(bigIntToWords(r[0]), i * 4);
    end.set(bigIntToWords(r[1]), i * 4);
  });
  return { start, end };
}

/** Compares the address at `at` of `buf` with range bound `i` of `bounds`: -1, 0 or 1. */
function compare6(buf: Buffer, at: number, bounds: Uint32Array, i: number): number {
  for (let w = 0; w < 4; w++) {
    const a = buf.readUInt32BE(at + 4 * w);
    const b = bounds[i * 4 + w] as number;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
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

  private readonly range6Start: Uint32Array;
  private readonly range6End: Uint32Array;

  constructor(networks: readonly SourceNetwork[], ports: readonly PortRange[]) {
    const sources = networks.filter((c): c is Cidr => !isCidr6(c));
    const ranges6 = mergeRanges6(networks.filter(isCidr6));
    this.range6Start = ranges6.start;
    this.range6End = ranges6.end;
    const ranges = sources.map((c) => [c.base, c.base + 2 ** (32 - c.prefix) - 1] as [number, number]).sort((a, b) => a[0] - b[0]);
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
    this.empty = merged.length === 0 && ranges6.start.length === 0 && ports.length === 0;
  }

  /** The filter for these lists, or null when they are empty and nothing is ever ignored. */
  static build(sources: readonly SourceNetwork[], ports: readonly PortRange[]): IgnoreFilter | null {
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

  /** Whether the IPv6 source address at `at` of `buf` is in an ignored network. */
  ignoresSource6(buf: Buffer, at: number): boolean {
    let lo = 0;
    let hi = this.range6Start.length / 4 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare6(buf, at, this.range6Start, mid) < 0) hi = mid - 1;
      else if (compare6(buf, at, this.range6End, mid) > 0) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Whether the encoded packet record at `offset` of `buf` is to be dropped. */
  ignoresRecord(buf: Buffer, offset: number): boolean {
    if (buf[offset + Offset.type] === RecordType.ip6) {
      return this.ignoresPort(buf.readUInt16BE(offset + Offset6.dport)) || this.ignoresSource6(buf, offset + Offset6.saddr);
    }
    return this.ignoresPort(buf.readUInt16BE(offset + Offset.dport)) || this.ignoresSource(buf.readUInt32BE(offset + Offset.saddr));
  }
}
