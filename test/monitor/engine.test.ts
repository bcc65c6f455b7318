// The detector, rule by rule against scanlogd 2.2.8's process_packet(): which packets
// count, what a scan reports, the fixed table and hash, and the wrapping clock.

import test from 'ava';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import { checkParams } from '../../src/shared/options.js';
import { type Summary, type Summary4 } from '../../src/shared/record.js';
import {
  CHANGING_DADDR,
  CHANGING_SPORT,
  CHANGING_TOS,
  CHANGING_TTL,
  Ipv4Detector,
  Detector,
  TH_ACK,
  TH_FIN,
  TH_PUSH,
  TH_RST,
  TH_SYN,
  hashAddress,
  keyedHashAddress,
  type Scan,
} from '../../src/monitor/engine.js';
import { Xorshift32 } from '../shared/xorshift.js';
import { formatAddress, parseAddress } from '../../src/shared/ipv4.js';
import { elapsed } from '../../src/shared/clock.js';
import { TCP6, UDP4 } from '../../src/monitor/addresses.js';

const SRC = parseAddress('198.18.0.2');
const DST = parseAddress('198.18.0.1');
/** Wall-clock seconds given with every packet unless a test says otherwise. */
const WALL = 1732551415;
/** The same instant in milliseconds, as the detector is fed. */
const WALL_MS = WALL * 1000;
const PRIV = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995];
const HIGH = Array.from({ length: 40 }, (_, i) => 2000 + i);
const TH_URG = 0x20;

function packet(change: Partial<Summary4> = {}): Summary4 {
  return { saddr: SRC, daddr: DST, sport: 40000, dport: 22, flags: TH_SYN, tos: 0, ttl: 64, time: 10000, ...change };
}

/** Feeds `p` as arriving at its own capture time, `wallMs` on the wall clock. */
const processAt = <A>(d: Detector<A>, p: Summary<A>, wallMs: number): Scan<A> | null => d.process(p, { mono: p.time, wall: wallMs });

const detector = (change: Partial<DetectorParams> = {}): Ipv4Detector => new Ipv4Detector({ ...DEFAULT_PARAMS, ...change });

/** Feeds packets in order; returns the index of each packet that completed a scan. */
function run(d: Ipv4Detector, packets: Summary4[], wall = WALL_MS): Array<[number, Scan]> {
  const scans: Array<[number, Scan]> = [];
  packets.forEach((p, i) => {
    const scan = processAt(d, p, wall);
    if (scan !== null) scans.push([i, scan]);
  });
  return scans;
}

/** SYNs from `saddr` to `ports`, `step` ms apart from `time`. */
function probes(ports: number[], time = 10000, step = 10, change: Partial<Summary4> = {}): Summary4[] {
  return ports.map((dport, i) => packet({ dport, time: (time + i * step) >>> 0, ...change }));
}

const bucketOf = (addr: number): number => hashAddress(addr, DEFAULT_PARAMS.hashSize);

test('source 0.0.0.0 is ignored: no entry, no scan', (t) => {
  const d = detector();
  t.deepEqual(run(d, probes(PRIV.slice(0, 10), 10000, 10, { saddr: 0 })), []);
  t.is(d.counters.packets, 10);
  t.deepEqual(d.chain(bucketOf(0)), []);
});

test('the first packet of a source creates its entry', (t) => {
  const d = detector();
  t.is(processAt(d, packet(), WALL_MS), null);
  t.deepEqual(d.chain(bucketOf(SRC)), [SRC]);
  t.is(d.counters.slotReuses, 0);
});

test('a port seen again only merges its flags: no weight, no change marks', (t) => {
  const d = detector();
  const packets = [
    ...probes(PRIV.slice(0, 6)),
    // Again to port 21, with other flags and another TTL, ten times.
    ...Array.from({ length: 10 }, (_, i) => packet({ dport: 21, flags: TH_FIN | TH_ACK, ttl: 99, time: 10100 + i })),
    packet({ dport: PRIV[6], time: 10200 }),
  ];
  const scans = run(d, packets);
  t.is(scans.length, 1);
  const [index, scan] = scans[0]!;
  t.is(index, 16);
  t.deepEqual(scan.ports, PRIV.slice(0, 6));
  t.is(scan.flagsOr, TH_SYN | TH_FIN | TH_ACK);
  t.is(scan.flagsAnd, 0);
  t.is(scan.changing, 0);
});

test('a port seen again does not refresh the timestamp', (t) => {
  const d = detector();
  const packets = [
    ...probes(PRIV.slice(0, 6), 10000, 100), // last new port at 10500
    packet({ dport: 21, time: 12000 }),
    packet({ dport: 21, time: 13400 }),
    // 3001 ms after the last new port: the entry is stale and counting restarts here.
    packet({ dport: PRIV[6], time: 13501 }),
    ...probes(PRIV.slice(7, 13), 13600, 10),
  ];
  const scans = run(d, packets);
  t.deepEqual(
    scans.map(([i]) => i),
    [14],
  );
  t.deepEqual(scans[0]![1].ports, PRIV.slice(6, 12));
});

const connectionFlags: Array<[string, number]> = [
  ['ACK', TH_ACK],
  ['RST', TH_RST],
  ['RST|ACK', TH_RST | TH_ACK],
  ['SYN|ACK', TH_SYN | TH_ACK],
  ['PSH|ACK', TH_PUSH | TH_ACK],
];

for (const [name, flags] of connectionFlags) {
  test(`${name} to a new port of a known source is ignored: no weight, no flags, no port`, (t) => {
    const d = detector();
    const packets = [
      ...probes(PRIV.slice(0, 6)),
      // A privileged port: counted, it would complete the scan here.
      packet({ dport: 100, flags, time: 10100 }),
      packet({ dport: PRIV[6], time: 10200 }),
    ];
    const scans = run(d, packets);
    t.deepEqual(
      scans.map(([i]) => i),
      [7],
    );
    const scan = scans[0]![1];
    t.deepEqual(scan.ports, PRIV.slice(0, 6));
    t.is(scan.flagsOr, TH_SYN);
    t.is(scan.flagsAnd, TH_SYN);
  });
}

for (const [name, flags] of [
  ['ACK', TH_ACK],
  ['RST', TH_RST],
] as const) {
  test(`${name} to a new port does not refresh the timestamp`, (t) => {
    const d = detector();
    const packets = [
      ...probes(PRIV.slice(0, 6), 10000, 100), // last new port at 10500
      packet({ dport: 100, flags, time: 13000 }),
      packet({ dport: PRIV[6], time: 13501 }),
    ];
    t.deepEqual(run(d, packets), []);
  });
}

for (const [name, flags] of [
  ['ACK', TH_ACK],
  ['SYN|ACK', TH_SYN | TH_ACK],
  ['RST|ACK', TH_RST | TH_ACK],
  ['FIN|ACK', TH_FIN | TH_ACK],
] as const) {
  test(`a new source whose first packet has ${name} is not tracked`, (t) => {
    const d = detector();
    t.is(processAt(d, packet({ flags }), WALL_MS), null);
    t.deepEqual(d.chain(bucketOf(SRC)), []);
    // Its later SYNs start counting from scratch.
    const scans = run(d, probes(PRIV.slice(0, 7), 10010));
    t.deepEqual(
      scans.map(([i]) => i),
      [6],
    );
  });
}

test('a new source whose first packet is RST only is tracked', (t) => {
  const d = detector();
  const scans = run(d, [packet({ dport: 21, flags: TH_RST }), ...probes(PRIV.slice(1, 7), 10010)]);
  t.deepEqual(d.chain(bucketOf(SRC)), [SRC]);
  t.deepEqual(
    scans.map(([i]) => i),
    [6],
  );
  const scan = scans[0]![1];
  t.deepEqual(scan.ports, PRIV.slice(0, 6));
  t.is(scan.flagsOr, TH_RST | TH_SYN);
  t.is(scan.flagsAnd, 0);
});

// Destination ports in order -> index of the packet that completes the scan, or null.
const weights: Array<[string, number[], number | null]> = [
  ['7 privileged ports: a scan on the 7th', PRIV.slice(0, 7), 6],
  ['6 privileged ports: no scan', PRIV.slice(0, 6), null],
  ['21 high ports: a scan on the 21st', HIGH.slice(0, 21), 20],
  ['20 high ports: no scan', HIGH.slice(0, 20), null],
  ['port 0 is privileged', [0, 1, 2, 3, 4, 5, 6], 6],
  ['1018-1023 privileged (18), then 1024-1026 high (1 each): the 9th', [1018, 1019, 1020, 1021, 1022, 1023, 1024, 1025, 1026], 8],
  ['one high port, then privileged ones: 1 + 6 x 3 = 19, the 8th privileged crosses', [5000, ...PRIV.slice(0, 7)], 7],
  ['18 high ports then one privileged: 18 + 3 = 21 on the 19th', [...HIGH.slice(0, 18), 80], 18],
  ['17 high ports then one privileged: 20, then one high port: the 19th', [...HIGH.slice(0, 17), 80, 65535], 18],
  ['65535 is high', [...HIGH.slice(0, 20), 65535], 20],
];

for (const [name, ports, crossing] of weights) {
  test(`weights: ${name}`, (t) => {
    const d = detector();
    const scans = run(d, probes(ports));
    if (crossing === null) {
      t.deepEqual(scans, []);
      t.is(d.counters.scans, 0);
      return;
    }
    t.deepEqual(
      scans.map(([i]) => i),
      [crossing],
    );
    // Every port before the crossing one, in the order first seen; not the crossing port.
    t.deepEqual(scans[0]![1].ports, ports.slice(0, crossing));
    t.is(d.counters.scans, 1);
  });
}

test('custom weights: --port-weight-high 2 makes 11 high ports a scan', (t) => {
  const d = detector({ portWeightHigh: 2, maxPorts: 10 });
  const scans = run(d, probes(HIGH.slice(0, 11)));
  t.deepEqual(
    scans.map(([i]) => i),
    [10],
  );
  t.deepEqual(scans[0]![1].ports, HIGH.slice(0, 10));
});

test('a threshold the first port already reaches is never reported, as in process_packet', (t) => {
  // The first packet's weight is not compared with the threshold; every later new port
  // then finds the source "already logged". So checkParams refuses such values.
  t.deepEqual(
    checkParams({ ...DEFAULT_PARAMS, scanWeightThreshold: 3, maxPorts: 2 }).map((p) => p.text),
    ['--scan-weight-threshold 3 is reached by a single port of weight 3; it must be more than 3'],
  );
  const d3 = detector({ scanWeightThreshold: 3, maxPorts: 2 });
  t.deepEqual(run(d3, probes([...PRIV, ...HIGH])), []);
  // A high first port (weight 1) leaves room: the next privileged port crosses.
  const high = detector({ scanWeightThreshold: 3, maxPorts: 2 });
  t.deepEqual(
    run(high, probes([5000, 22])).map(([i]) => i),
    [1],
  );
  // With threshold 1 nothing is ever reported.
  const d1 = detector({ scanWeightThreshold: 1, maxPorts: 1 });
  t.deepEqual(run(d1, probes([5000, ...HIGH, ...PRIV])), []);
});

test("a scan reports the first packet's fields, its start time and the crossing time", (t) => {
  const d = detector();
  const packets = [
    packet({ dport: 80, sport: 50000, tos: 0x10, ttl: 50, time: 20000 }),
    ...probes(PRIV.slice(0, 5), 20100, 100, { sport: 50000, tos: 0x10, ttl: 50 }),
    packet({ dport: 443, sport: 50000, tos: 0x10, ttl: 50, time: 21234 }),
  ];
  // Later packets carry later wall times; only the first one's is the start.
  const results = packets.map((p, i) => processAt(d, p, WALL_MS + i * 1000));
  t.deepEqual(results.slice(0, 6), [null, null, null, null, null, null]);
  t.deepEqual(results[6], {
    saddr: SRC,
    daddr: DST,
    protocol: 'tcp',
    sport: 50000,
    ports: [80, ...PRIV.slice(0, 5)],
    flagsOr: TH_SYN,
    flagsAnd: TH_SYN,
    tos: 0x10,
    ttl: 50,
    changing: 0,
    start: WALL,
    time: 21234,
    // The first source of a fresh table takes slot 0.
    slot: 0,
  });
});

test('after a scan is reported, new ports keep the source quiet until it pauses', (t) => {
  const d = detector();
  const packets = [
    ...probes(PRIV.slice(0, 7), 10000, 10),
    // 50 more new ports, 2.9 s apart: each refreshes the entry, none is reported.
    ...probes(HIGH.concat(HIGH.map((p) => p + 100)).slice(0, 50), 12900, 2900),
  ];
  const last = packets[packets.length - 1]!.time;
  const restart = probes(PRIV.slice(7, 14), last + 3001, 10);
  const scans = run(d, [...packets, ...restart]);
  t.deepEqual(
    scans.map(([i]) => i),
    [6, packets.length + 6],
  );
  t.deepEqual(scans[1]![1].ports, PRIV.slice(7, 13));
  t.is(d.counters.scans, 2);
});

// Six ports at once, then the seventh `gap` ms later.
const delays: Array<[number, number, boolean]> = [
  [3000, 2999, true],
  [3000, 3000, true],
  [3000, 3001, false],
  [3000, 100000, false],
  [500, 500, true],
  [500, 501, false],
];

for (const [scanDelayMs, gap, fresh] of delays) {
  test(`scan delay ${scanDelayMs} ms: a gap of ${gap} ms ${fresh ? 'continues' : 'restarts'} the count`, (t) => {
    const d = detector({ scanDelayMs });
    const packets = [...probes(PRIV.slice(0, 6), 10000, 0), packet({ dport: PRIV[6], time: 10000 + gap })];
    const scans = run(d, packets);
    t.deepEqual(
      scans.map(([i]) => i),
      fresh ? [6] : [],
    );
    t.deepEqual(d.chain(bucketOf(SRC)), [SRC]);
  });
}

test('a stale source starts over: ports, weight, start time and changes', (t) => {
  const d = detector();
  run(d, probes(PRIV.slice(0, 6), 10000, 10, { ttl: 10, sport: 1 }), WALL_MS);
  // 10 s later, from another source port and TTL: a new entry, nothing carried over.
  const scans = run(d, probes(PRIV.slice(6, 13), 20000, 10, { ttl: 20, sport: 2 }), WALL_MS + 10000);
  t.deepEqual(
    scans.map(([i]) => i),
    [6],
  );
  const scan = scans[0]![1];
  t.deepEqual(scan.ports, PRIV.slice(6, 12));
  t.is(scan.start, WALL + 10);
  t.is(scan.changing, 0);
  t.is(scan.ttl, 20);
  t.is(scan.sport, 2);
});

test('a stale source that sends an ACK loses its entry and gets none', (t) => {
  const d = detector();
  run(d, probes(PRIV.slice(0, 6)));
  t.is(processAt(d, packet({ dport: 8080, flags: TH_ACK, time: 20000 }), WALL_MS), null);
  t.deepEqual(d.chain(bucketOf(SRC)), []);
});

// A change in one field of the second packet -> the changing bits of the scan.
const changes: Array<[string, Partial<Summary4>, number]> = [
  ['nothing', {}, 0],
  ['destination address', { daddr: parseAddress('198.18.0.3') }, CHANGING_DADDR],
  ['source port', { sport: 40001 }, CHANGING_SPORT],
  ['TOS', { tos: 0x10 }, CHANGING_TOS],
  ['TTL', { ttl: 63 }, CHANGING_TTL],
  ['all four', { daddr: 1, sport: 1, tos: 1, ttl: 1 }, CHANGING_DADDR | CHANGING_SPORT | CHANGING_TOS | CHANGING_TTL],
];

for (const [name, change, bits] of changes) {
  test(`changing bits: ${name} differing in the second packet`, (t) => {
    const d = detector();
    const packets = probes(PRIV.slice(0, 7));
    packets[1] = { ...packets[1]!, ...change };
    const scans = run(d, packets);
    t.is(scans.length, 1);
    const scan = scans[0]![1];
    t.is(scan.changing, bits);
    // The reported values stay those of the first packet.
    t.is(scan.daddr, DST);
    t.is(scan.sport, 40000);
    t.is(scan.tos, 0);
    t.is(scan.ttl, 64);
  });

  test(`changing bits: ${name} differing only in the crossing packet`, (t) => {
    const d = detector();
    const packets = probes(PRIV.slice(0, 7));
    packets[6] = { ...packets[6]!, ...change };
    t.is(run(d, packets)[0]![1].changing, bits);
  });
}

test('changing bits stay set when the field returns to its first value', (t) => {
  const d = detector();
  const packets = probes(PRIV.slice(0, 7));
  packets[1] = { ...packets[1]!, ttl: 1 };
  t.is(run(d, packets)[0]![1].changing, CHANGING_TTL);
});

// Flags of the seven packets -> flagsOr, flagsAnd of the scan.
const flagMasks: Array<[string, number[], number, number]> = [
  ['SYN only', [2, 2, 2, 2, 2, 2, 2], TH_SYN, TH_SYN],
  ['SYN, one SYN|FIN', [2, 3, 2, 2, 2, 2, 2], TH_SYN | TH_FIN, TH_SYN],
  ['FIN scan', [1, 1, 1, 1, 1, 1, 1], TH_FIN, TH_FIN],
  ['Xmas scan', [0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29], TH_FIN | TH_PUSH | TH_URG, TH_FIN | TH_PUSH | TH_URG],
  ['null scan', [0, 0, 0, 0, 0, 0, 0], 0, 0],
  ['ECE and CWR bits kept', [0xc2, 0x42, 0x82, 0xc2, 0xc2, 0xc2, 0xc2], 0xc2, TH_SYN],
  ['crossing packet merged', [2, 2, 2, 2, 2, 2, 0x22], TH_SYN | TH_URG, TH_SYN],
];

for (const [name, flags, or, and] of flagMasks) {
  test(`flag masks: ${name}`, (t) => {
    const d = detector();
    const packets = probes(PRIV.slice(0, 7)).map((p, i) => ({ ...p, flags: flags[i]! }));
    const scan = run(d, packets)[0]![1];
    t.is(scan.flagsOr, or);
    t.is(scan.flagsAnd, and);
  });
}

const source = (i: number): number => (parseAddress('198.18.1.0') + i) >>> 0;

test('the table holds listSize sources: the next new source takes the oldest slot', (t) => {
  const d = detector();
  const first = source(0);
  const packets = [
    ...probes(PRIV.slice(0, 6), 10000, 1, { saddr: first }),
    ...Array.from({ length: 255 }, (_, i) => packet({ saddr: source(i + 1), time: 10010 + i })),
  ];
  t.deepEqual(run(d, packets), []);
  t.is(d.counters.slotReuses, 0);
  t.deepEqual(
    d.chain(bucketOf(first)).filter((a) => a === first),
    [first],
  );

  // Source 257 reuses the first source's slot; the first source is forgotten.
  processAt(d, packet({ saddr: source(256), time: 10300 }), WALL_MS);
  t.is(d.counters.slotReuses, 1);
  t.false(d.chain(bucketOf(first)).includes(first));
  t.is(processAt(d, packet({ saddr: first, dport: PRIV[6], time: 10301 }), WALL_MS), null);
  // Coming back, it took the next oldest slot: source(1)'s.
  t.is(d.counters.slotReuses, 2);
  t.false(d.chain(bucketOf(source(1))).includes(source(1)));
});

test('without the 257th source, the first one would have been reported', (t) => {
  const d = detector();
  const first = source(0);
  const packets = [
    ...probes(PRIV.slice(0, 6), 10000, 1, { saddr: first }),
    ...Array.from({ length: 255 }, (_, i) => packet({ saddr: source(i + 1), time: 10010 + i })),
    packet({ saddr: first, dport: PRIV[6], time: 10301 }),
  ];
  t.deepEqual(
    run(d, packets).map(([i]) => i),
    [packets.length - 1],
  );
});

test('slots go round robin; a slot freed by a stale source is taken without a reuse', (t) => {
  const d = detector({ listSize: 4 });
  const [a, b, c, e, f] = [0, 1, 2, 3, 4].map(source) as [number, number, number, number, number];
  processAt(d, packet({ saddr: a, time: 1000 }), WALL_MS); // slot 0
  processAt(d, packet({ saddr: a, time: 5000 }), WALL_MS); // stale: slot 0 freed, slot 1
  processAt(d, packet({ saddr: b, time: 5001 }), WALL_MS); // slot 2
  processAt(d, packet({ saddr: c, time: 5002 }), WALL_MS); // slot 3
  processAt(d, packet({ saddr: e, time: 5003 }), WALL_MS); // slot 0, free
  t.is(d.counters.slotReuses, 0);
  processAt(d, packet({ saddr: f, time: 5004 }), WALL_MS); // slot 1: a's entry goes
  t.is(d.counters.slotReuses, 1);
  t.deepEqual(
    [a, b, c, e, f].map((s) => d.chain(bucketOf(s)).includes(s)),
    [false, true, true, true, true],
  );
});

/** scanlogd's hashfunc() as written, on the s_addr an x86 host reads from bytes a.b.c.d. */
function cHashfunc(dotted: string, hashLog = 9): number {
  const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
  let value = a + b * 2 ** 8 + c * 2 ** 16 + d * 2 ** 24;
  let hash = 0n;
  do {
    hash ^= BigInt(value);
  } while ((value = Math.floor(value / 2 ** hashLog)) !== 0);
  return Number(hash % BigInt(2 ** hashLog));
}

test("hashAddress equals scanlogd's hashfunc on a little-endian host", (t) => {
  const fixed = [
    '0.0.0.0',
    '255.255.255.255',
    '198.18.0.1',
    '198.18.0.2',
    '10.0.0.1',
    '127.0.0.1',
    '1.2.3.4',
    '4.3.2.1',
    '192.168.1.254',
    '0.0.2.0',
    '0.0.0.1',
    '128.0.0.0',
  ];
  const rng = new Xorshift32(9);
  const addresses = [...fixed, ...Array.from({ length: 5000 }, () => formatAddress(rng.next()))];
  const wrong = addresses.filter((text) => hashAddress(parseAddress(text), 512) !== cHashfunc(text));
  t.deepEqual(wrong, []);
  t.is(hashAddress(parseAddress('1.2.3.4'), 512), cHashfunc('1.2.3.4'));
});

for (const hashLog of [1, 4, 8, 10, 16]) {
  test(`hashAddress with ${2 ** hashLog} buckets follows hashfunc with HASH_LOG ${hashLog}`, (t) => {
    const rng = new Xorshift32(hashLog);
    const wrong: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const text = formatAddress(rng.next());
      if (hashAddress(parseAddress(text), 2 ** hashLog) !== cHashfunc(text, hashLog)) wrong.push(text);
    }
    t.deepEqual(wrong, []);
  });
}

test('a 1-bucket hash is refused: hashfunc would have nothing to shift by', (t) => {
  // HASH_LOG 0 would make hashfunc's `value >>= HASH_LOG` loop forever.
  t.deepEqual(
    checkParams({ ...DEFAULT_PARAMS, hashSize: 1 }).map((p) => p.text),
    ['--hash-size must be a whole number from 2 to 65536, not 1'],
  );
});

/** The first `n` addresses in 198.18.0.0/16 that share one hashfunc bucket. */
function colliding(n: number): { bucket: number; addresses: number[] } {
  const buckets = new Map<number, number[]>();
  for (let x = 0; x < 256; x++) {
    for (let y = 0; y < 256; y++) {
      const text = `198.18.${x}.${y}`;
      const bucket = cHashfunc(text);
      const list = buckets.get(bucket) ?? [];
      list.push(parseAddress(text));
      buckets.set(bucket, list);
      if (list.length === n) return { bucket, addresses: list };
    }
  }
  throw new Error('no bucket filled');
}

test('a hash bucket holds 16 sources: the 17th drops the oldest from the chain', (t) => {
  const { bucket, addresses } = colliding(18);
  t.true(addresses.every((a) => hashAddress(a, 512) === bucket));
  const d = detector();
  const [oldest] = addresses as [number];
  // The oldest has six ports in: one more would be a scan, if it were still known.
  run(d, probes(PRIV.slice(0, 6), 10000, 1, { saddr: oldest }));
  addresses.slice(1, 16).forEach((saddr, i) => processAt(d, packet({ saddr, time: 10010 + i }), WALL_MS));
  t.deepEqual(d.chain(bucket), addresses.slice(0, 16).reverse());
  t.is(d.counters.bucketEvictions, 0);

  processAt(d, packet({ saddr: addresses[16]!, time: 10100 }), WALL_MS);
  t.deepEqual(d.chain(bucket), addresses.slice(1, 17).reverse());
  t.is(d.counters.bucketEvictions, 1);

  // Forgotten: its next port starts a new entry, which in turn drops the next oldest.
  t.is(processAt(d, packet({ saddr: oldest, dport: PRIV[6], time: 10101 }), WALL_MS), null);
  t.deepEqual(d.chain(bucket), [oldest, ...addresses.slice(2, 17).reverse()]);
  t.is(d.counters.bucketEvictions, 2);
});

test('a stale source in a full bucket is replaced without dropping another', (t) => {
  const { bucket, addresses } = colliding(16);
  const d = detector();
  addresses.forEach((saddr, i) => processAt(d, packet({ saddr, time: 10000 + i }), WALL_MS));
  const stale = addresses[4]!;
  processAt(d, packet({ saddr: stale, time: 20000 }), WALL_MS);
  t.deepEqual(d.chain(bucket), [stale, ...addresses.filter((a) => a !== stale).reverse()]);
  t.is(d.counters.bucketEvictions, 0);
});

test('the bucket limit follows hashMax (as in C, a bucket with a single entry still takes a second)', (t) => {
  const { bucket, addresses } = colliding(5);
  const d3 = detector({ hashMax: 3 });
  addresses.forEach((saddr, i) => processAt(d3, packet({ saddr, time: 10000 + i }), WALL_MS));
  t.deepEqual(d3.chain(bucket), addresses.slice(2).reverse());
  t.is(d3.counters.bucketEvictions, 2);
  // scanlogd drops the predecessor's link to the tail; a lone entry has no predecessor.
  const d1 = detector({ hashMax: 1 });
  addresses.forEach((saddr, i) => processAt(d1, packet({ saddr, time: 10000 + i }), WALL_MS));
  t.deepEqual(d1.chain(bucket), addresses.slice(3).reverse());
});

test("spoofed sources chosen to share a scanner's classic bucket push it out; with --hash keyed they cannot", (t) => {
  const { bucket, addresses } = colliding(17);
  const [scanner, ...spoofed] = addresses as [number, ...number[]];
  const KEY = Uint32Array.of(0x9e3779b9, 0x85ebca6b, 0xc2b2ae35);
  const attack = (d: Ipv4Detector): number[] => {
    // Six privileged ports from the scanner, 16 spoofed SYNs into its bucket, its seventh port.
    run(d, probes(PRIV.slice(0, 6), 10000, 1, { saddr: scanner }));
    spoofed.forEach((saddr, i) => processAt(d, packet({ saddr, time: 10010 + i }), WALL_MS));
    return run(d, [packet({ saddr: scanner, dport: PRIV[6], time: 10100 })]).map(([i]) => i);
  };
  const classic = detector();
  t.deepEqual(attack(classic), [], 'classic: the scanner was evicted, its seventh port starts over');
  t.is(classic.counters.bucketEvictions, 2);
  t.true(addresses.every((a) => hashAddress(a, 512) === bucket));
  const keyed = new Ipv4Detector({ ...DEFAULT_PARAMS, hash: 'keyed' }, { hashKey: KEY });
  t.deepEqual(attack(keyed), [0], 'keyed: the scan is reported');
  t.is(keyed.counters.bucketEvictions, 0);
});

test('keyed hash: fixed for a key, spread over the buckets, different for another key', (t) => {
  const KEY = Uint32Array.of(1, 2, 3);
  const { addresses } = colliding(16);
  const buckets = addresses.map((a) => keyedHashAddress(a, 512, KEY));
  t.deepEqual(
    buckets,
    addresses.map((a) => keyedHashAddress(a, 512, KEY)),
  );
  t.true(new Set(buckets).size >= 12, `16 classic-colliding sources fall in ${new Set(buckets).size} keyed buckets`);
  t.true(buckets.every((b) => b >= 0 && b < 512));
  const other = addresses.map((a) => keyedHashAddress(a, 512, Uint32Array.of(4, 5, 6)));
  t.notDeepEqual(other, buckets);
  // Each detector draws its own key.
  const a = new Ipv4Detector({ ...DEFAULT_PARAMS, hash: 'keyed' });
  const b = new Ipv4Detector({ ...DEFAULT_PARAMS, hash: 'keyed' });
  for (const d of [a, b]) addresses.forEach((saddr, i) => processAt(d, packet({ saddr, time: 10000 + i }), WALL_MS));
  const layout = (d: Ipv4Detector): string => Array.from({ length: 512 }, (_, i) => d.chain(i).length).join();
  t.not(layout(a), layout(b));
});

test('clock wrap: a scan across 2^32 ms is one scan', (t) => {
  const d = detector();
  // 0xfffffe00 + 6 x 100 wraps to 88.
  const scans = run(d, probes(PRIV.slice(0, 7), 0xfffffe00, 100));
  t.deepEqual(
    scans.map(([i]) => i),
    [6],
  );
  t.is(scans[0]![1].time, 88);
});

for (const [gap, fresh] of [
  [3000, true],
  [3001, false],
] as const) {
  test(`clock wrap: a gap of ${gap} ms across 2^32 ${fresh ? 'continues' : 'restarts'} the count`, (t) => {
    const d = detector();
    const start = 2 ** 32 - 1000;
    const packets = [...probes(PRIV.slice(0, 6), start, 0), packet({ dport: PRIV[6], time: (start + gap) >>> 0 })];
    t.is(packets[6]!.time, gap - 1000);
    t.deepEqual(
      run(d, packets).map(([i]) => i),
      fresh ? [6] : [],
    );
  });
}

const earlier: Array<[string, number]> = [
  ['1 ms before the entry', 9999],
  ['at time 0, 10 s before the entry', 0],
  ['2^31 ms after the entry, the wrap-safe half-way point', 10000 + 2 ** 31],
];

for (const [name, time] of earlier) {
  test(`a packet ${name} has a negative elapsed time and finds the entry stale`, (t) => {
    const d = detector();
    run(d, probes(PRIV.slice(0, 6), 10000, 0));
    t.is(processAt(d, packet({ dport: PRIV[6], time: time >>> 0 }), WALL_MS), null);
    // Counting restarted at that packet: six more new ports make the scan.
    const scans = run(d, probes(PRIV.slice(7, 13), time >>> 0, 0));
    t.deepEqual(
      scans.map(([i]) => i),
      [5],
    );
    t.deepEqual(scans[0]![1].ports, [PRIV[6], ...PRIV.slice(7, 12)]);
  });
}

const distances: Array<[number, number, number]> = [
  [10, 5, 5],
  [5, 10, -5],
  [3, 0xfffffffe, 5],
  [0xfffffffe, 3, -5],
  [0x80000000, 0, -0x80000000],
  [0x7fffffff, 0, 0x7fffffff],
];

for (const [later, earlier, expected] of distances) {
  test(`elapsed(${later}, ${earlier}) = ${expected}`, (t) => {
    t.is(elapsed(later, earlier), expected);
  });
}

// ---------------------------------------------------------------------------
// Other lanes: IPv6 addresses in tables of four words, UDP without flags.

const v6 = (v4: number): Uint32Array => Uint32Array.from([0x20010db8, 0, 0x5c, v4]);

test("IPv6 and UDP lanes make the same decisions as scanlogd's lane on the same traffic (random, no bucket evictions)", (t) => {
  // With a bucket cap as large as the table, which sources share a bucket cannot
  // matter, so the keyed IPv6 hash must give exactly the IPv4 lane's scans.
  const params = { ...DEFAULT_PARAMS, hashMax: 256, listSize: 64 };
  const rng = new Xorshift32(0x6464);
  const v4 = new Ipv4Detector(params);
  const six = new Detector<Uint32Array>(params, TCP6);
  const udp = new Ipv4Detector(params, { lane: UDP4 });
  let time = 10000;
  let scans = 0;
  let udpScans = 0;
  for (let i = 0; i < 100000; i++) {
    time += rng.below(40);
    const p = packet({
      saddr: 0xc6120000 + rng.below(30),
      daddr: DST + rng.below(2),
      sport: 40000 + rng.below(2),
      dport: rng.below(3) === 0 ? PRIV[rng.below(PRIV.length)]! : rng.below(2000),
      flags: rng.below(4) === 0 ? rng.below(256) : TH_SYN,
      tos: rng.below(8) === 0 ? 0x10 : 0,
      ttl: 64 - rng.below(2),
      time,
    });
    const a = processAt(v4, p, WALL_MS);
    const b = processAt(six, { ...p, saddr: v6(p.saddr), daddr: v6(p.daddr) }, WALL_MS);
    t.deepEqual(b === null ? null : { ...b, saddr: b.saddr[3], daddr: b.daddr[3], protocol: 'tcp' }, a);
    if (a !== null) scans++;
    // Without flags, nothing is connection traffic: UDP counts every datagram's port.
    const c = processAt(udp, { ...p, flags: 0 }, WALL_MS);
    if (c !== null) {
      udpScans++;
      t.is(c.protocol, 'udp');
      t.is(c.flagsOr, 0);
    }
  }
  t.true(udpScans > 50, `only ${udpScans} UDP scans`);
  t.true(scans > 50, `only ${scans} scans`);
  t.deepEqual(six.counters, v4.counters);
});

test('IPv6: the unspecified address :: is ignored, and a table slot is four words', (t) => {
  const d = new Detector<Uint32Array>({ ...DEFAULT_PARAMS }, TCP6, { hashKey: Uint32Array.from([1, 2, 3]) });
  for (const [i, port] of PRIV.slice(0, 10).entries())
    t.is(processAt(d, { ...packet({ dport: port, time: 10000 + i }), saddr: new Uint32Array(4), daddr: v6(DST) }, WALL_MS), null);
  t.is(d.counters.packets, 10);
  const src = v6(SRC);
  processAt(d, { ...packet(), saddr: src, daddr: v6(DST) }, WALL_MS);
  t.deepEqual(d.chain(d.bucketOfAddress(src)), [src]);
});

test('IPv6: sources that differ only in one word each get their own entry', (t) => {
  const d = new Detector<Uint32Array>({ ...DEFAULT_PARAMS }, TCP6, { hashKey: Uint32Array.from([1, 2, 3]) });
  const sources = [0, 1, 2, 3].map((w) => {
    const a = v6(SRC);
    a[w] = (a[w] as number) ^ 0x80000000;
    return a;
  });
  // Each source sends 6 privileged ports: no scan for any, though 24 ports were seen.
  for (const [i, port] of PRIV.slice(0, 6).entries()) {
    for (const s of sources) t.is(processAt(d, { ...packet({ dport: port, time: 10000 + i }), saddr: s, daddr: v6(DST) }, WALL_MS), null);
  }
  // The seventh port of the first source is its scan, with its own address.
  const scan = processAt(d, { ...packet({ dport: PRIV[6]!, time: 10010 }), saddr: sources[0]!, daddr: v6(DST) }, WALL_MS);
  t.deepEqual(scan?.saddr, sources[0]);
  t.deepEqual(scan?.ports, PRIV.slice(0, 6));
});

test('IPv6: a full bucket drops its oldest source, so addresses chosen to collide cost at most --hash-max steps', (t) => {
  const key = Uint32Array.from([7, 11, 13]);
  const d = new Detector<Uint32Array>({ ...DEFAULT_PARAMS, hashMax: 4 }, TCP6, { hashKey: key });
  // Find addresses in one /64 that share a bucket, as an attacker who knew the key would.
  const bucket = d.bucketOfAddress(v6(1));
  const same: Uint32Array[] = [];
  for (let host = 1; same.length < 6; host++) if (d.bucketOfAddress(v6(host)) === bucket) same.push(v6(host));
  for (const [i, s] of same.entries()) processAt(d, { ...packet({ time: 10000 + i }), saddr: s, daddr: v6(DST) }, WALL_MS);
  t.is(d.chain(bucket).length, 4);
  t.is(d.counters.bucketEvictions, 2);
  t.deepEqual(d.chain(bucket)[0], same[5]);
});

test('IPv6 lanes are always keyed: two detectors place the same address independently', (t) => {
  const buckets = new Set<number>();
  for (let i = 0; i < 8; i++) buckets.add(new Detector<Uint32Array>({ ...DEFAULT_PARAMS, hash: 'classic' }, TCP6).bucketOfAddress(v6(SRC)));
  t.true(buckets.size > 1, 'the same bucket 8 times: not keyed');
});
