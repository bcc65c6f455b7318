// IPv4 address text: the one parser of the project (records, ignore lists, tests) and
// its printer, both ways, and what it refuses.

import test from 'ava';
import { parseCidr } from '../../src/shared/networks.js';
import { AddressError, formatAddress, parseAddress } from '../../src/shared/ipv4.js';

const addresses: Array<[string, number]> = [
  ['0.0.0.0', 0],
  ['255.255.255.255', 0xffffffff],
  ['198.18.0.2', 0xc6120002],
  ['10.0.0.1', 0x0a000001],
  ['192.168.1.254', 0xc0a801fe],
  ['1.2.3.4', 0x01020304],
  ['128.0.0.0', 0x80000000],
];

for (const [text, value] of addresses) {
  test(`address ${text} <-> 0x${value.toString(16).padStart(8, '0')}`, (t) => {
    t.is(formatAddress(value), text);
    t.is(parseAddress(text), value);
  });
}

const notAddresses = [
  ...['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.256', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1.2.3.1000'],
  ...['::1', '1..2.3', '0x7f.0.0.1', '1.2.3.4\n'],
  // A leading zero is octal to inet_aton(3) and decimal to a person: neither is guessed.
  ...['010.0.0.1', '1.2.3.04', '00.0.0.0'],
];

for (const text of notAddresses) {
  test(`parseAddress rejects ${JSON.stringify(text)}`, (t) => {
    const err = t.throws(() => parseAddress(text), { instanceOf: AddressError });
    t.is(err?.message, `not an IPv4 address: ${text}`);
    t.is(err?.code, 'ERR_SCANLOGD_ADDRESS');
  });
}

test('the ignore list reads addresses with the same parser: a leading zero is refused there too', (t) => {
  t.deepEqual(parseCidr('10.0.0.1'), { base: parseAddress('10.0.0.1'), prefix: 32 });
  t.throws(() => parseCidr('010.0.0.1'));
  t.throws(() => parseAddress('010.0.0.1'), { instanceOf: AddressError });
});
