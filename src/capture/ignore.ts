// Trusted sources and destination ports whose packets never count towards a scan: the
// fixed-cost test the capture process makes on each record before it is sent to the
// monitor, which never sees those packets.

import { Offset, Offset6, RecordType } from '../shared/record.js';
import { bigIntToWords, isCidr6, wordsToBigInt, type Cidr, type Cidr6, type PortRange, type SourceNetwork } from '../shared/networks.js';

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
