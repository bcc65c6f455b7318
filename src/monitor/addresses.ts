// How the detector and the tracker keep addresses of one family in fixed tables:
// IPv4 as one 32-bit word per entry, IPv6 as four. A table entry of all zeros is
// unused (no packet from the unspecified address is ever counted).

import { formatAddress } from '../shared/ipv4.js';
import { formatAddress6 } from '../shared/ipv6.js';
import type { Protocol } from '../shared/record.js';

export interface AddressFamily<A> {
  readonly name: 'ipv4' | 'ipv6';
  /** 32-bit words per address. */
  readonly words: number;
  /** Whether only the keyed hash may place these addresses (no reference to match). */
  readonly alwaysKeyed: boolean;
  isUnspecified(a: A): boolean;
  /** Entry `index` of `table` (a table of `words`-word entries). */
  store(table: Uint32Array, index: number, a: A): void;
  equals(table: Uint32Array, index: number, a: A): boolean;
  isUnused(table: Uint32Array, index: number): boolean;
  clear(table: Uint32Array, index: number): void;
  /** A copy of the entry, for a scan that outlives the table's contents. */
  read(table: Uint32Array, index: number): A;
  /**
   * The 32 bits the bucket is chosen from, mixed with `key` (the table's hash key) where
   * an address is wider than that: what a sender cannot compute, it cannot make collide.
   */
  fold(table: Uint32Array, index: number, key: Uint32Array): number;
  foldOf(a: A, key: Uint32Array): number;
  format(a: A): string;
  formatAt(table: Uint32Array, index: number): string;
}

export const IPV4: AddressFamily<number> = {
  name: 'ipv4',
  words: 1,
  alwaysKeyed: false,
  isUnspecified: (a) => a === 0,
  store: (table, index, a) => {
    table[index] = a;
  },
  equals: (table, index, a) => table[index] === a,
  isUnused: (table, index) => table[index] === 0,
  clear: (table, index) => {
    table[index] = 0;
  },
  read: (table, index) => table[index] as number,
  // The address itself, so that the classic hash places it as scanlogd does.
  fold: (table, index) => table[index] as number,
  foldOf: (a) => a,
  format: formatAddress,
  formatAt: (table, index) => formatAddress(table[index] as number),
};

/**
 * Mixes the four words into one, so that the keyed hash that follows depends on every
 * bit of the address. The rounds take the key (its multiplier forced odd, so each keeps
 * all 32 bits' worth): with fixed constants, anyone could pick three words and solve
 * for the fourth to give any fold, and so fill one bucket with addresses of one /64.
 */
function fold6(w0: number, w1: number, w2: number, w3: number, key: Uint32Array): number {
  const m = (key[2] as number) | 1;
  let h = (w0 ^ (key[1] as number)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), m) ^ w1;
  h = Math.imul(h ^ (h >>> 15), m) ^ w2;
  h = Math.imul(h ^ (h >>> 16), m) ^ w3;
  h = Math.imul(h ^ (h >>> 15), m);
  return h >>> 0;
}

export const IPV6: AddressFamily<Uint32Array> = {
  name: 'ipv6',
  words: 4,
  alwaysKeyed: true,
  isUnspecified: (a) => ((a[0] as number) | (a[1] as number) | (a[2] as number) | (a[3] as number)) === 0,
  // Word by word rather than TypedArray set and fill: for four words, those calls into
  // the runtime cost more than the copy itself (bench/lanes.ts).
  store: (table, index, a) => {
    const at = index * 4;
    table[at] = a[0] as number;
    table[at + 1] = a[1] as number;
    table[at + 2] = a[2] as number;
    table[at + 3] = a[3] as number;
  },
  equals: (table, index, a) => {
    const at = index * 4;
    return table[at] === a[0] && table[at + 1] === a[1] && table[at + 2] === a[2] && table[at + 3] === a[3];
  },
  isUnused: (table, index) => {
    const at = index * 4;
    return ((table[at] as number) | (table[at + 1] as number) | (table[at + 2] as number) | (table[at + 3] as number)) === 0;
  },
  clear: (table, index) => {
    const at = index * 4;
    table[at] = 0;
    table[at + 1] = 0;
    table[at + 2] = 0;
    table[at + 3] = 0;
  },
  read: (table, index) => table.slice(index * 4, index * 4 + 4),
  fold: (table, index, key) => {
    const at = index * 4;
    return fold6(table[at] as number, table[at + 1] as number, table[at + 2] as number, table[at + 3] as number, key);
  },
  foldOf: (a, key) => fold6(a[0] as number, a[1] as number, a[2] as number, a[3] as number, key),
  format: (a) => formatAddress6(a),
  formatAt: (table, index) => formatAddress6(table, index * 4),
};

/** What one detector watches: one address family, one transport protocol. */
export interface Lane<A> {
  family: AddressFamily<A>;
  protocol: Protocol;
}

export const TCP4: Lane<number> = { family: IPV4, protocol: 'tcp' };
export const UDP4: Lane<number> = { family: IPV4, protocol: 'udp' };
export const TCP6: Lane<Uint32Array> = { family: IPV6, protocol: 'tcp' };
export const UDP6: Lane<Uint32Array> = { family: IPV6, protocol: 'udp' };

/** The text of an address of either family, as a scan carries it. */
export function addressText(a: number | Uint32Array): string {
  return typeof a === 'number' ? formatAddress(a) : formatAddress6(a);
}
