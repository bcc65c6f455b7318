// IPv6 address text: the parser of ignore lists and the RFC 5952 printer of log lines
// and events, both ways, and what the parser refuses.

import test from 'ava';
import net = require('node:net');
import { AddressError } from '../../src/shared/ipv4.js';
import { formatAddress6, parseAddress6 } from '../../src/shared/ipv6.js';
import { Xorshift32 } from './xorshift.js';

const words = (...w: number[]): Uint32Array => Uint32Array.from(w);

// [text in, words, RFC 5952 text out]
const addresses: Array<[string, Uint32Array, string]> = [
  ['::', words(0, 0, 0, 0), '::'],
  ['::1', words(0, 0, 0, 1), '::1'],
  ['2001:db8::2', words(0x20010db8, 0, 0, 2), '2001:db8::2'],
  ['2001:0DB8:0000:0000:0000:0000:0000:0002', words(0x20010db8, 0, 0, 2), '2001:db8::2'],
  ['fd00:5c::1', words(0xfd00005c, 0, 0, 1), 'fd00:5c::1'],
  // One zero group is not compressed (RFC 5952 4.2.2).
  ['2001:db8:0:1:1:1:1:1', words(0x20010db8, 0x00000001, 0x00010001, 0x00010001), '2001:db8:0:1:1:1:1:1'],
  // The longest run is compressed; on a tie, the first (4.2.3).
  ['2001:0:0:1:0:0:0:1', words(0x20010000, 0x00000001, 0, 1), '2001:0:0:1::1'],
  ['2001:db8:0:0:1:0:0:1', words(0x20010db8, 0, 0x00010000, 1), '2001:db8::1:0:0:1'],
  ['1:2:3:4:5:6:7:8', words(0x00010002, 0x00030004, 0x00050006, 0x00070008), '1:2:3:4:5:6:7:8'],
  ['1::', words(0x00010000, 0, 0, 0), '1::'],
  [
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    words(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff),
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  ],
  // IPv4-mapped: the dotted quad tail (5).
  ['::ffff:198.18.0.2', words(0, 0, 0xffff, 0xc6120002), '::ffff:198.18.0.2'],
  ['::ffff:c612:2', words(0, 0, 0xffff, 0xc6120002), '::ffff:198.18.0.2'],
  ['fe80::1:2', words(0xfe800000, 0, 0, 0x00010002), 'fe80::1:2'],
];

for (const [text, value, canonical] of addresses) {
  test(`IPv6 address ${text} -> ${canonical}`, (t) => {
    t.deepEqual(parseAddress6(text), value);
    t.is(formatAddress6(value), canonical);
    t.deepEqual(parseAddress6(canonical), value);
  });
}

test('formatAddress6 reads four words at an offset of a larger table', (t) => {
  const table = Uint32Array.from([7, 7, 0x20010db8, 0, 0, 2, 7]);
  t.is(formatAddress6(table, 2), '2001:db8::2');
});

const refused = [
  '',
  ':',
  ':::',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  '1::2::3',
  '12345::',
  'g::1',
  'fe80::1%eth0',
  '::1.2.3',
  '::01.2.3.4',
  '1.2.3.4::',
  ' ::1',
  '::1 ',
  '1:2:3:4:5:6:7::8',
];

for (const text of refused) {
  test(`parseAddress6 refuses ${JSON.stringify(text)}`, (t) => {
    const err = t.throws(() => parseAddress6(text), { instanceOf: AddressError });
    t.is(err?.message, `not an IPv6 address: ${text}`);
  });
}

test('fuzz: 100000 random addresses round-trip, and the text is what Node writes (RFC 5952) where Node has no IPv4 tail', (t) => {
  const rng = new Xorshift32(0x6666);
  let wrong = '';
  for (let i = 0; i < 100000 && wrong === ''; i++) {
    // Runs of zero groups are what the compression rules are about: make them common.
    const groups = Array.from({ length: 8 }, () => (rng.below(2) === 0 ? 0 : rng.below(3) === 0 ? rng.below(16) : rng.below(65536)));
    const w = Uint32Array.from([0, 2, 4, 6], (g) => (((groups[g] as number) << 16) | (groups[g + 1] as number)) >>> 0);
    const text = formatAddress6(w);
    if (parseAddress6(text).join() !== w.join()) wrong = `round trip of ${text}`;
    if (!net.isIPv6(text)) wrong = `${text} is not IPv6 to Node`;
    const mapped = w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
    // WHATWG URL serialises IPv6 hosts with RFC 5952's compression, without the IPv4 tail.
    const whatwg = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    if (!mapped && whatwg !== text) wrong = `${text}, URL says ${whatwg}`;
  }
  t.is(wrong, '');
});
