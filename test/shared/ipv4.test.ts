// IPv4 address text: the one parser of the project (records, ignore lists, tests) and
// its printer, both ways, and what it refuses; the directed broadcasts of a host's networks.

import test from 'ava';
import os = require('node:os');
import { parseCidr } from '../../src/shared/networks.js';
import {
  AddressError,
  MAX_BROADCASTS,
  directedBroadcasts,
  formatAddress,
  parseAddress,
  type InterfaceAddress,
} from '../../src/shared/ipv4.js';

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

test('directedBroadcasts: every host bit of each IPv4 network set; none for a /31 or /32, nor for IPv6', (t) => {
  const v4 = (address: string, netmask: string): InterfaceAddress => ({ family: 'IPv4', address, netmask });
  const found = directedBroadcasts([
    v4('127.0.0.1', '255.0.0.0'),
    v4('198.18.4.1', '255.255.0.0'),
    v4('198.19.5.1', '255.255.255.0'),
    v4('198.19.6.9', '255.255.255.248'),
    // A second address of a network already listed.
    v4('198.18.9.9', '255.255.0.0'),
    v4('198.19.7.0', '255.255.255.254'),
    v4('198.19.8.1', '255.255.255.255'),
    { family: 'IPv6', address: 'fd00::1', netmask: 'ffff:ffff:ffff:ffff::' },
    // As Node 18.0 to 18.3 lists the family.
    { family: 4, address: '10.1.2.3', netmask: '255.255.252.0' },
  ]).map(formatAddress);
  t.deepEqual(found, ['127.255.255.255', '198.18.255.255', '198.19.5.255', '198.19.6.15', '10.1.3.255']);
  // The machine's own interfaces, as the capture process reads them: loopback's is there.
  const own = directedBroadcasts(Object.values(os.networkInterfaces()).flatMap((list) => list ?? [])).map(formatAddress);
  t.true(own.includes('127.255.255.255'), own.join(' '));
  const many = Array.from({ length: MAX_BROADCASTS + 10 }, (_, i) => v4(`10.${i}.0.1`, '255.255.0.0'));
  t.is(directedBroadcasts(many).length, MAX_BROADCASTS);
});
