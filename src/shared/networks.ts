// Networks and port ranges as the options write them (--ignore-source, --ignore-port,
// --ephemeral-ports): strict parsers that refuse what is more likely a typo than a
// wish, and printers whose text the parsers read back.

import { InvalidArgumentError } from 'commander';
import { formatAddress, parseAddress } from './ipv4.js';
import { formatAddress6, parseAddress6 } from './ipv6.js';

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
export function wordsToBigInt(words: ArrayLike<number>): bigint {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(words[i] as number);
  return v;
}

export function bigIntToWords(v: bigint): Uint32Array {
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

export function formatPortRange(r: PortRange): string {
  return r.first === r.last ? String(r.first) : `${r.first}-${r.last}`;
}
