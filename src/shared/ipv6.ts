// IPv6 addresses as the detector holds them (four unsigned 32-bit words, most
// significant first) and as people write them: the parser for ignore lists and the
// printer of log lines, in RFC 5952's canonical form.

import { AddressError, formatAddress, parseAddress } from './ipv4.js';

const GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseGroups(text: string, allowIpv4Tail: boolean): number[] {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (allowIpv4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseAddress(part);
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else if (GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      throw new AddressError(`not an IPv6 address: ${text}`);
    }
  }
  return groups;
}

/**
 * An IPv6 address in any RFC 4291 text form: eight groups of 1-4 hex digits, at most
 * one `::`, and optionally a dotted-quad tail. Zone indexes (`%eth0`) are refused: a
 * link-local scope means nothing in an ignore list.
 */
export function parseAddress6(text: string): Uint32Array {
  const fail = (): never => {
    throw new AddressError(`not an IPv6 address: ${text}`);
  };
  const halves = text.split('::');
  if (halves.length > 2) fail();
  let groups: number[];
  try {
    if (halves.length === 2) {
      const head = parseGroups(halves[0] as string, false);
      const tail = parseGroups(halves[1] as string, true);
      // `::` stands for at least one group of zeros.
      if (head.length + tail.length > 7) fail();
      groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
    } else {
      groups = parseGroups(text, true);
    }
  } catch {
    return fail();
  }
  if (groups.length !== 8) fail();
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = (((groups[2 * i] as number) << 16) | (groups[2 * i + 1] as number)) >>> 0;
  return words;
}

/**
 * RFC 5952: lowercase hex without leading zeros; the longest run of two or more zero
 * groups (the first, on a tie) written `::`; an IPv4-mapped address (::ffff:0:0/96)
 * with its last 32 bits as a dotted quad. `words` may be a view into a larger table.
 */
export function formatAddress6(words: ArrayLike<number>, at = 0): string {
  const w0 = words[at] as number;
  const w1 = words[at + 1] as number;
  const w2 = words[at + 2] as number;
  const w3 = words[at + 3] as number;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${formatAddress(w3)}`;
  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((n) => n.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
