// How a lane keeps addresses in fixed tables: IPv4 as one word an entry, IPv6 as four;
// an entry of zeros is unused; what is stored reads back equal, folds as the address
// folds, and prints as people write it.

import test from 'ava';
import { IPV4, IPV6, addressText, type AddressFamily } from '../../src/monitor/addresses.js';
import { TCP6 } from '../../src/monitor/addresses.js';
import { Detector, randomHashKey } from '../../src/monitor/engine.js';
import { DEFAULT_PARAMS } from '../../src/shared/params.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { parseAddress6 } from '../../src/shared/ipv6.js';
import { Xorshift32 } from '../shared/xorshift.js';

const v4 = parseAddress('198.18.0.2');
const v6 = parseAddress6('2001:db8::5c:2');
const KEY = randomHashKey();

function roundTrip<A>(t: import('ava').ExecutionContext, family: AddressFamily<A>, a: A, other: A, text: string): void {
  const table = new Uint32Array(4 * family.words);
  t.true(family.isUnused(table, 2));
  family.store(table, 2, a);
  t.false(family.isUnused(table, 2));
  t.true(family.isUnused(table, 1), 'the entries beside it are untouched');
  t.true(family.isUnused(table, 3));
  t.true(family.equals(table, 2, a));
  t.false(family.equals(table, 2, other));
  t.deepEqual(family.read(table, 2), a);
  t.is(family.fold(table, 2, KEY), family.foldOf(a, KEY), 'a stored address folds as the address does');
  t.is(family.format(a), text);
  t.is(family.formatAt(table, 2), text);
  family.clear(table, 2);
  t.true(family.isUnused(table, 2));
  t.false(family.equals(table, 2, a));
}

test('IPv4: one word an entry, stored, compared, read, folded, printed, cleared', (t) => {
  roundTrip(t, IPV4, v4, v4 + 1, '198.18.0.2');
  t.is(IPV4.words, 1);
  t.false(IPV4.alwaysKeyed, "scanlogd's bucket choice is kept for IPv4");
  t.true(IPV4.isUnspecified(0));
  t.false(IPV4.isUnspecified(v4));
  t.is(IPV4.foldOf(v4, KEY), v4, 'an IPv4 address is its own fold: the classic hash sees it as scanlogd does');
});

test('IPv6: four words an entry, stored, compared, read, folded, printed in RFC 5952 form, cleared', (t) => {
  roundTrip(t, IPV6, v6, parseAddress6('2001:db8::5c:3'), '2001:db8::5c:2');
  t.is(IPV6.words, 4);
  t.true(IPV6.alwaysKeyed);
  t.true(IPV6.isUnspecified(new Uint32Array(4)));
  t.false(IPV6.isUnspecified(parseAddress6('::1')));
});

test('IPv6: a read is a copy that outlives the table entry', (t) => {
  const table = new Uint32Array(8);
  IPV6.store(table, 1, v6);
  const copy = IPV6.read(table, 1);
  IPV6.clear(table, 1);
  t.deepEqual(copy, v6);
});

test('IPv6: addresses that differ in any one bit of any word are different entries with different folds', (t) => {
  const table = new Uint32Array(4);
  IPV6.store(table, 0, v6);
  let sameFold = 0;
  for (let word = 0; word < 4; word++) {
    for (let bit = 0; bit < 32; bit++) {
      const other = v6.slice();
      other[word] = ((other[word] as number) ^ (1 << bit)) >>> 0;
      t.false(IPV6.equals(table, 0, other), `word ${word} bit ${bit}`);
      if (IPV6.foldOf(other, KEY) === IPV6.foldOf(v6, KEY)) sameFold++;
    }
  }
  t.is(sameFold, 0, 'every bit reaches the fold');
});

test('IPv6: the fold spreads random addresses of one /64 over the 32 bits', (t) => {
  const rng = new Xorshift32(64);
  const folds = new Set<number>();
  for (let i = 0; i < 4096; i++) folds.add(IPV6.foldOf(Uint32Array.of(0x20010db8, 0, rng.next(), rng.next()), KEY));
  t.true(folds.size >= 4090, `${folds.size} distinct folds of 4096`);
});

/** A fold of fixed constants, as anyone can compute it: the last word undoes the rest. */
function publicFold(w0: number, w1: number, w2: number, w3: number): number {
  let h = w0 >>> 0;
  h = (Math.imul(h ^ (h >>> 16), 0x45d9f3b) ^ w1) >>> 0;
  h = (Math.imul(h ^ (h >>> 16), 0x45d9f3b) ^ w2) >>> 0;
  return (Math.imul(h ^ (h >>> 16), 0x45d9f3b) ^ w3) >>> 0;
}

test('IPv6: addresses of one /64 chosen to share a fold without the key land in buckets of their own', (t) => {
  // 64 addresses of 2001:db8::/64 whose fold by fixed constants is 0x1234: the third word
  // is free, the fourth solved for it.
  const chosen: Uint32Array[] = [];
  for (let w2 = 1; w2 <= 64; w2++) {
    const w3 = (publicFold(0x20010db8, 0, w2, 0) ^ 0x1234) >>> 0;
    chosen.push(Uint32Array.of(0x20010db8, 0, w2, w3));
  }
  t.true(chosen.every((a) => publicFold(a[0]!, a[1]!, a[2]!, a[3]!) === 0x1234));
  const folds = new Set(chosen.map((a) => IPV6.foldOf(a, KEY)));
  t.is(folds.size, 64, 'the keyed fold keeps them apart');
  const detector = new Detector(DEFAULT_PARAMS, TCP6);
  const buckets = new Set(chosen.map((a) => detector.bucketOfAddress(a)));
  t.true(buckets.size >= 40, `${buckets.size} buckets of ${DEFAULT_PARAMS.hashSize} for 64 chosen addresses`);
});

test('addressText prints either family as a scan carries it', (t) => {
  t.is(addressText(v4), '198.18.0.2');
  t.is(addressText(v6), '2001:db8::5c:2');
  t.is(addressText(parseAddress6('::ffff:192.0.2.1')), '::ffff:192.0.2.1');
});
