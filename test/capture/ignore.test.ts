// --ignore-source and --ignore-port in the capture process: which packets the filter
// drops, and that a dropped packet is, to the detector, one that never arrived.

process.env.TZ = 'UTC';

import test from 'ava';
import { IgnoreFilter } from '../../src/capture/ignore.js';
import { MAX_IGNORE_SOURCES, parseCidr, parsePortRange, type Cidr, type Cidr6 } from '../../src/shared/networks.js';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import { encode, type Ip6Record, type Tcp4Record } from '../../src/shared/record.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { formatAddress6, parseAddress6 } from '../../src/shared/ipv6.js';
import { ScanPipeline } from '../../src/monitor/pipeline.js';

test('sources: networks and hosts match exactly their addresses, overlapping entries merged', (t) => {
  const f = new IgnoreFilter(
    ['10.0.0.0/8', '10.1.0.0/16', '192.0.2.0/25', '192.0.2.128/25', '198.51.100.7', '0.0.0.0', '255.255.255.255'].map(parseCidr),
    [],
  );
  const yes = [
    '10.0.0.0',
    '10.255.255.255',
    '10.1.2.3',
    '192.0.2.0',
    '192.0.2.127',
    '192.0.2.128',
    '192.0.2.255',
    '198.51.100.7',
    '0.0.0.0',
    '255.255.255.255',
  ];
  const no = ['9.255.255.255', '11.0.0.0', '192.0.1.255', '192.0.3.0', '198.51.100.6', '198.51.100.8', '0.0.0.1', '255.255.255.254'];
  for (const a of yes) t.true(f.ignoresSource(parseAddress(a)), a);
  for (const a of no) t.false(f.ignoresSource(parseAddress(a)), a);
  t.false(f.empty);
  t.false(f.ignoresPort(1));
});

test('sources: a full list of 1024 scattered hosts matches each one and nothing next to it', (t) => {
  const list: Cidr[] = [];
  for (let i = 0; i < MAX_IGNORE_SOURCES; i++) list.push({ base: (Math.imul(i, 2654435761) & ~1) >>> 0, prefix: 32 });
  const f = new IgnoreFilter(list, []);
  for (const c of list) {
    t.true(f.ignoresSource(c.base));
    if (!list.some((o) => o.base === c.base + 1)) t.false(f.ignoresSource(c.base + 1));
  }
});

/** An IPv6 packet record from `src` to port `dport`, encoded at offset 20 of a buffer. */
function ignores6(f: IgnoreFilter, src: string, dport = 80): boolean {
  const r: Ip6Record = {
    type: 'ip6',
    protocol: 'tcp',
    saddr: parseAddress6(src),
    daddr: parseAddress6('fd00:5c::1'),
    sport: 40000,
    dport,
    flags: 2,
    tos: 0,
    ttl: 64,
    time: 1,
  };
  return f.ignoresRecord(Buffer.concat([Buffer.alloc(20, 0xee), encode(r)]), 20);
}

test('IPv6 sources: networks and hosts match exactly their addresses, merged, and never an IPv4 record', (t) => {
  const f = new IgnoreFilter(
    ['2001:db8::/32', '2001:db8:5::/48', 'fd00::7', 'fd00::8', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '8000::/2'].map(parseCidr),
    [],
  );
  const yes = [
    '2001:db8::',
    '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
    '2001:db8:5::1',
    'fd00::7',
    'fd00::8',
    '::',
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    '8000::',
    'bfff::1',
  ];
  const no = [
    '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff',
    '2001:db9::',
    'fd00::6',
    'fd00::9',
    '::1',
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe',
    '7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'c000::',
  ];
  for (const a of yes) t.true(ignores6(f, a), a);
  for (const a of no) t.false(ignores6(f, a), a);
  t.false(f.ignoresSource(0), 'an IPv6 :: entry is not IPv4 0.0.0.0');
  t.false(f.empty);
});

test('IPv6: a port entry drops IPv6 records too; an IPv4 list leaves IPv6 sources alone', (t) => {
  const f = new IgnoreFilter([parseCidr('198.51.100.0/24')], [parsePortRange('8080')]);
  t.true(ignores6(f, '2001:db8::1', 8080));
  t.false(ignores6(f, '2001:db8::1', 8081));
  // 198.51.100.x in the first word of an IPv6 address must not match the IPv4 list.
  t.false(ignores6(f, 'c633:6400::1', 80));
});

test('IPv6: a full list of 1024 scattered hosts matches each one and nothing next to it', (t) => {
  const host = (i: number, plus: number): Uint32Array => Uint32Array.from([0x20010db8, Math.imul(i, 2654435761) >>> 0, 0, i * 2 + plus]);
  const list: Cidr6[] = Array.from({ length: MAX_IGNORE_SOURCES }, (_, i) => ({ base6: host(i, 2), prefix: 128 }));
  const f = new IgnoreFilter(list, []);
  for (let i = 0; i < MAX_IGNORE_SOURCES; i++) {
    t.true(ignores6(f, formatAddress6(host(i, 2))));
    t.false(ignores6(f, formatAddress6(host(i, 3))));
    t.false(ignores6(f, formatAddress6(host(i, 1))));
  }
});

test('ports: single ports and ranges, edges included; other ports and sources not', (t) => {
  const f = new IgnoreFilter([], ['1', '443', '50000-51000', '65535'].map(parsePortRange));
  for (const p of [1, 443, 50000, 50500, 51000, 65535]) t.true(f.ignoresPort(p), String(p));
  for (const p of [0, 2, 442, 444, 49999, 51001, 65534]) t.false(f.ignoresPort(p), String(p));
  t.false(f.ignoresSource(parseAddress('198.51.100.7')));
});

test('an empty filter is marked empty and ignores nothing', (t) => {
  const f = new IgnoreFilter([], []);
  t.true(f.empty);
  t.false(f.ignoresSource(0));
  t.false(f.ignoresPort(0));
  t.false(f.ignoresPort(80));
});

test('ignoresRecord reads the source and destination port of an encoded record', (t) => {
  const f = new IgnoreFilter([parseCidr('198.51.100.0/24')], [parsePortRange('8080')]);
  const r: Tcp4Record = {
    type: 'tcp4',
    saddr: parseAddress('203.0.113.9'),
    daddr: parseAddress('198.18.0.1'),
    sport: 8080,
    dport: 80,
    flags: 2,
    tos: 0,
    ttl: 64,
    time: 1,
  };
  const at = (rec: Tcp4Record): boolean => {
    const buf = Buffer.concat([Buffer.alloc(20, 0xee), encode(rec)]);
    return f.ignoresRecord(buf, 20);
  };
  t.false(at(r), 'source port 8080 is not a destination port');
  t.true(at({ ...r, dport: 8080 }));
  t.true(at({ ...r, saddr: parseAddress('198.51.100.200') }));
  t.false(at({ ...r, daddr: parseAddress('198.51.100.200') }), 'destination addresses are not sources');
});

// ---------------------------------------------------------------------------
// What an ignored packet means: the capture process drops it, so the detector's
// state is exactly what it would be had the packet never arrived. Each case below
// also runs without the filter, to show that the packet would have made a difference.

const MONO = 5000000;
const WALL_MS = Date.UTC(2024, 10, 25, 16, 16, 55, 0);
const TARGET = parseAddress('198.18.0.1');

function syn(src: string, dport: number, ms: number, flags = 0x02): Tcp4Record {
  return { type: 'tcp4', saddr: parseAddress(src), daddr: TARGET, sport: 40000, dport, flags, tos: 0, ttl: 64, time: (MONO + ms) >>> 0 };
}

/** Lines logged for `records`, passed through `filter` as the capture process does. */
function run(records: Tcp4Record[], filter: IgnoreFilter | null, params: Partial<DetectorParams> = {}): string[] {
  const lines: string[] = [];
  const p = new ScanPipeline({ ...DEFAULT_PARAMS, ...params });
  for (const r of records) {
    if (filter !== null && filter.ignoresRecord(encode(r), 0)) continue;
    for (const output of p.handle(r, r.time, WALL_MS + (r.time - MONO))) if (output.kind === 'line') lines.push(output.text);
  }
  return lines;
}

function neverArrived(
  t: import('ava').ExecutionContext,
  records: Tcp4Record[],
  filter: IgnoreFilter,
  params: Partial<DetectorParams> = {},
): string[] {
  const kept = records.filter((r) => !filter.ignoresRecord(encode(r), 0));
  t.true(kept.length < records.length, 'the case has ignored packets');
  const filtered = run(records, filter, params);
  t.deepEqual(filtered, run(kept, null, params));
  t.notDeepEqual(filtered, run(records, null, params), 'without the filter the ignored packets would change the result');
  return filtered;
}

test('an ignored port does not keep a source fresh: a gap bridged only by it still ends the scan', (t) => {
  const ignore = new IgnoreFilter([], [parsePortRange('80')]);
  // Six privileged ports (weight 18), a packet to 80 after 2 s, the seventh port 2 s later.
  const records = [1, 2, 3, 4, 5, 6].map((p, i) => syn('198.51.100.2', p, i));
  records.push(syn('198.51.100.2', 80, 2000), syn('198.51.100.2', 7, 4000));
  t.deepEqual(neverArrived(t, records, ignore), []);
});

test('an ignored port adds no weight, no port to the line and no flags', (t) => {
  const ignore = new IgnoreFilter([], [parsePortRange('20-22')]);
  // A FIN to ignored port 21 in the middle of a SYN scan.
  const records = [1, 2, 3].map((p, i) => syn('198.51.100.2', p, i));
  records.push(syn('198.51.100.2', 21, 3, 0x01));
  records.push(...[4, 5, 6, 7, 8].map((p, i) => syn('198.51.100.2', p, 4 + i)));
  t.deepEqual(neverArrived(t, records, ignore), [
    '198.51.100.2:40000 to 198.18.0.1 ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  ]);
});

test('an ignored source takes no table slot: it cannot push out a scan in progress', (t) => {
  const ignore = new IgnoreFilter([parseCidr('192.0.2.0/24')], []);
  // With one tracked source, any other source's packet would replace the scanner.
  const records: Tcp4Record[] = [];
  for (let p = 1; p <= 8; p++) records.push(syn('198.51.100.2', p, p * 10), syn(`192.0.2.${p}`, 443, p * 10 + 5));
  t.deepEqual(neverArrived(t, records, ignore, { listSize: 1 }), [
    '198.51.100.2:40000 to 198.18.0.1 ports 1, 2, 3, 4, 5, 6, ..., fSrpauxy, TOS 00, TTL 64 @16:16:55',
  ]);
});

test('an ignored source is never logged, however it scans', (t) => {
  const ignore = new IgnoreFilter([parseCidr('198.51.100.2')], []);
  const records = Array.from({ length: 100 }, (_, i) => syn('198.51.100.2', i + 1, i));
  t.deepEqual(neverArrived(t, records, ignore), []);
});
