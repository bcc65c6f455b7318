// --ignore-source and --ignore-port as written: what the parsers accept and refuse
// (with their words), and the text the printers give back.

import test from 'ava';
import { formatCidr, formatPortRange, parseCidr, parsePortRange, type PortRange } from '../../src/shared/networks.js';

const accepted: Array<[string, string]> = [
  ['198.51.100.7', '198.51.100.7'],
  ['198.51.100.7/32', '198.51.100.7'],
  ['203.0.113.0/24', '203.0.113.0/24'],
  ['10.0.0.0/8', '10.0.0.0/8'],
  ['128.0.0.0/1', '128.0.0.0/1'],
  ['0.0.0.0/1', '0.0.0.0/1'],
  ['255.255.255.255', '255.255.255.255'],
  ['0.0.0.0', '0.0.0.0'],
  // IPv6 (taken only with --ipv6, checked in options), shown in RFC 5952 form.
  ['2001:DB8::7', '2001:db8::7'],
  ['2001:db8:0:0:0:0:0:7/128', '2001:db8::7'],
  ['fd00::/8', 'fd00::/8'],
  ['2001:db8:1::/48', '2001:db8:1::/48'],
  ['::ffff:198.51.100.0/120', '::ffff:198.51.100.0/120'],
  ['::/1', '::/1'],
  ['8000::/1', '8000::/1'],
  ['::', '::'],
];

for (const [text, shown] of accepted) {
  test(`--ignore-source ${text} is accepted`, (t) => {
    t.is(formatCidr(parseCidr(text)), shown);
  });
}

const refusedCidrs: Array<[string, string]> = [
  ['', 'must be an IPv4 address or network such as 198.51.100.7 or 203.0.113.0/24.'],
  ['198.51.100', 'must be an IPv4 address or network such as 198.51.100.7 or 203.0.113.0/24.'],
  ['198.51.100.256', 'must be an IPv4 address or network such as 198.51.100.7 or 203.0.113.0/24.'],
  ['010.0.0.1', 'must be an IPv4 address or network such as 198.51.100.7 or 203.0.113.0/24.'],
  ['198.51.100.7 ', 'must be an IPv4 address or network such as 198.51.100.7 or 203.0.113.0/24.'],
  ['2001:db8::/0', 'the prefix length must be a whole number from 1 to 128 (/0 would ignore every source).'],
  ['2001:db8::/129', 'the prefix length must be a whole number from 1 to 128 (/0 would ignore every source).'],
  ['2001:db8::/032', 'the prefix length must be a whole number from 1 to 128 (/0 would ignore every source).'],
  ['2001:db8::1/32', 'has host bits set; the network is 2001:db8::/32.'],
  ['fd00::1:0/64', 'has host bits set; the network is fd00::/64.'],
  ['2001:db8:::1', 'must be an IPv6 address or network such as 2001:db8::7 or 2001:db8:1::/48.'],
  ['2001:db8::1::2', 'must be an IPv6 address or network such as 2001:db8::7 or 2001:db8:1::/48.'],
  ['fe80::1%eth0', 'must be an IPv6 address or network such as 2001:db8::7 or 2001:db8:1::/48.'],
  ['1:2:3:4:5:6:7:8:9', 'must be an IPv6 address or network such as 2001:db8::7 or 2001:db8:1::/48.'],
  ['12345::1', 'must be an IPv6 address or network such as 2001:db8::7 or 2001:db8:1::/48.'],
  [':', 'must be an IPv6 address or network such as 2001:db8::7 or 2001:db8:1::/48.'],
  ['example.org', 'must be an IPv4 address or network such as 198.51.100.7 or 203.0.113.0/24.'],
  ['10.0.0.0/0', 'the prefix length must be a whole number from 1 to 32 (/0 would ignore every source).'],
  ['10.0.0.0/33', 'the prefix length must be a whole number from 1 to 32 (/0 would ignore every source).'],
  ['10.0.0.0/08', 'the prefix length must be a whole number from 1 to 32 (/0 would ignore every source).'],
  ['10.0.0.0/', 'the prefix length must be a whole number from 1 to 32 (/0 would ignore every source).'],
  ['10.0.0.0/8/8', 'the prefix length must be a whole number from 1 to 32 (/0 would ignore every source).'],
  ['10.0.0.1/8', 'has host bits set; the network is 10.0.0.0/8.'],
  ['198.51.100.7/24', 'has host bits set; the network is 198.51.100.0/24.'],
  ['198.51.100.1/31', 'has host bits set; the network is 198.51.100.0/31.'],
];

for (const [text, message] of refusedCidrs) {
  test(`--ignore-source "${text}" is refused: ${message}`, (t) => {
    const err = t.throws(() => parseCidr(text));
    t.is(err?.message, message);
    t.is((err as { code?: string } | undefined)?.code, 'commander.invalidArgument');
  });
}

const ports: Array<[string, PortRange]> = [
  ['1', { first: 1, last: 1 }],
  ['65535', { first: 65535, last: 65535 }],
  ['21', { first: 21, last: 21 }],
  ['50000-51000', { first: 50000, last: 51000 }],
  ['443-443', { first: 443, last: 443 }],
  ['1-65535', { first: 1, last: 65535 }],
];

for (const [text, range] of ports) {
  test(`--ignore-port ${text} is accepted`, (t) => {
    t.deepEqual(parsePortRange(text), range);
    t.is(formatPortRange(range), text === '443-443' ? '443' : text);
  });
}

const refusedPorts: Array<[string, string]> = [
  ['0', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['65536', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['100000', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['0-10', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['10-65536', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['080', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['-1', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['1-', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['1--2', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['http', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['', 'must be a port from 1 to 65535 or a range such as 50000-51000.'],
  ['2000-1000', 'is a reversed range; write 1000-2000.'],
];

for (const [text, message] of refusedPorts) {
  test(`--ignore-port "${text}" is refused: ${message}`, (t) => {
    const err = t.throws(() => parsePortRange(text));
    t.is(err?.message, message);
  });
}
