// The second stage rule by rule: what counts as a first contact, when it is judged and
// by what, the two thresholds, the idle expiry, the table that a spoofed flood cannot
// empty of a source with evidence, and when the socket tables are read.

import test, { type ExecutionContext } from 'ava';
import { DEFAULT_PARAMS, type DetectorParams } from '../../src/shared/params.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { parseAddress6 } from '../../src/shared/ipv6.js';
import type { Answer4Record, Protocol, Summary } from '../../src/shared/record.js';
import { PortMap, type SocketSink } from '../../src/monitor/sockets.js';
import { keyedHashAddress } from '../../src/monitor/engine.js';
import { IPV4 } from '../../src/monitor/addresses.js';
import { ANSWER_WINDOW_MS, EarlyAnswers } from '../../src/monitor/earlyanswers.js';
import {
  CONTACTS,
  COST_FACTOR,
  FOREIGN_WAIT_MS,
  IDLE_REFRESH_MS,
  LOCAL_GRACE_MS,
  MAX_CHAIN,
  MIN_REFRESH_MS,
  REFUSAL_LINE_MS,
  SlowScanStage,
  type SlowReport,
} from '../../src/monitor/slowscan.js';

const HOST = parseAddress('198.18.0.1');
const SCANNER = parseAddress('198.19.7.7');
const OPEN = [22, 80, 443];
const SYN = 0x02;
const ACK = 0x10;
const RST = 0x04;
const T0 = 1_000_000;

type Row = { kind: 'listen'; protocol: Protocol; port: number } | { kind: 'conn'; protocol: Protocol; port: number; peer: number };

/** A stage on the raw socket (or a device, `localOnly` false), the host's sockets as rows it reads. */
class Bench {
  readonly stage: SlowScanStage;
  readonly reports: SlowReport[] = [];
  rows: Row[] = OPEN.map((port) => ({ kind: 'listen', protocol: 'tcp', port }));
  /** Whether the next reads fail after the first table, as a read error would. */
  unreadable = false;
  now = T0;

  constructor(
    params: Partial<DetectorParams> = {},
    options: { localOnly?: boolean; ipv6?: boolean; hashKey?: Uint32Array; broadcasts?: number[] } = {},
  ) {
    this.stage = new SlowScanStage({ ...DEFAULT_PARAMS, ...params }, new PortMap(), {
      ipv6: options.ipv6 ?? false,
      localOnly: options.localOnly ?? true,
      broadcasts: options.broadcasts ?? [],
      ...(options.hashKey === undefined ? {} : { hashKey: options.hashKey }),
    });
    this.refresh();
  }

  read(sink: SocketSink): boolean {
    for (const row of this.rows) {
      if (row.kind === 'listen') sink.listener(row.protocol, new Uint32Array(4), row.port);
      else sink.connection(row.protocol, Uint32Array.of(0, 0, 0xffff, HOST), row.port, Uint32Array.of(0, 0, 0xffff, row.peer));
      if (this.unreadable) return false;
    }
    return true;
  }

  refresh(): SlowReport[] {
    const out = this.stage.refresh((sink) => this.read(sink), this.now >>> 0, this.now);
    this.reports.push(...out);
    return out;
  }

  /** Advances the clock in one-second ticks, reading the tables whenever the stage wants them. */
  advance(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + 1000);
      if (this.stage.wantsRefresh(this.now >>> 0)) this.refresh();
    }
  }

  packet(p: Partial<Summary<number>> & { dport: number }, protocol: Protocol = 'tcp'): void {
    const pkt: Summary<number> = {
      saddr: SCANNER,
      daddr: HOST,
      sport: 40000,
      flags: protocol === 'tcp' ? SYN : 0,
      tos: 0,
      ttl: 64,
      time: this.now >>> 0,
      ...p,
    };
    this.stage.take4(pkt, protocol, this.now);
  }
}

test('a probe every 5 minutes to closed ports (nmap -T0) is a slow scan at the sixth, judged after the grace', (t) => {
  const b = new Bench();
  for (let i = 0; i < 5; i++) {
    b.packet({ dport: 1000 + i });
    b.advance(300_000);
  }
  t.is(b.reports.length, 0);
  b.packet({ dport: 2000 });
  b.advance(LOCAL_GRACE_MS - 1000);
  t.is(b.reports.length, 0, 'not before the grace');
  b.advance(MIN_REFRESH_MS + 1000);
  t.is(b.reports.length, 1);
  const r = b.reports[0]!;
  t.is(r.kind, 'slow-scan');
  t.is(r.failures, 6);
  t.deepEqual(
    r.failed.map((c) => c.port),
    [1000, 1001, 1002, 1003, 1004, 2000],
  );
  t.is(r.last - r.first, 25 * 60_000);
  t.is(b.stage.counters.slowScans, 1);
  // Reported once per episode.
  b.packet({ dport: 3000 });
  b.advance(10_000);
  t.is(b.reports.length, 1);
});

test('open ports take a step back; a retransmitted SYN is one contact', (t) => {
  const b = new Bench();
  for (const port of [1, 22, 2, 80, 3, 3, 3, 4, 5, 6, 7]) {
    b.packet({ dport: port });
    b.advance(15_000);
  }
  // The sum after each contact: 1, 0, 1, 0, 1 (port 3 three times), 2, 3, 4, 5.
  t.is(b.reports.length, 0);
  b.packet({ dport: 8 });
  b.advance(15_000);
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.failures, 8);
  t.is(b.reports[0]!.successes, 2);
});

test('the source forgets after the idle expiry: probes 31 minutes apart never add up', (t) => {
  const b = new Bench();
  for (let i = 0; i < 12; i++) {
    b.packet({ dport: 1000 + i });
    b.advance(31 * 60_000);
  }
  t.is(b.reports.length, 0);
  const close = new Bench({ slowIdleMs: 60 * 60_000 });
  for (let i = 0; i < 6; i++) {
    close.packet({ dport: 1000 + i });
    close.advance(31 * 60_000);
  }
  t.is(close.reports.length, 1, 'with --slow-expiry 3600');
});

test('what is never a first contact: ACK or RST segments (backscatter, late FIN/RST), and multicast or broadcast', (t) => {
  // The host's network is a /24.
  const b = new Bench({}, { broadcasts: [parseAddress('198.18.0.255')] });
  let port = 5000;
  for (const flags of [ACK | SYN, ACK, RST, RST | ACK, ACK | 0x01, ACK | 0x08])
    b.packet({ dport: port++, flags, saddr: parseAddress(`198.19.1.${port & 255}`) });
  for (let i = 0; i < 10; i++) b.packet({ dport: port++, flags: ACK | RST });
  for (const group of ['224.0.0.251', '239.255.255.250', '255.255.255.255', '198.18.0.255']) {
    for (const p of [137, 138, 1900, 5353, 5355, 17500]) b.packet({ daddr: parseAddress(group), dport: p, flags: 0 }, 'udp');
  }
  b.advance(10_000);
  t.is(b.stage.pending, 0);
  t.is(b.reports.length, 0);
});

test("an ACK beside each probe proves nothing on this host's ports: the socket tables decide", (t) => {
  const b = new Bench();
  // A scanner that follows each SYN to a closed port with an ACK, as a client would.
  for (let i = 0; i < 6; i++) {
    b.packet({ dport: 42000 + i, sport: 52000 + i });
    b.packet({ dport: 42000 + i, sport: 52000 + i, flags: ACK });
    b.packet({ dport: 42000 + i, sport: 52000 + i, flags: ACK | 0x01 });
    b.advance(10_000);
  }
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.failures, 6);
});

test('a port open for a moment (passive FTP) is proven by the tables: a listener at the next read, or the connection', (t) => {
  const b = new Bench();
  // The server listens on the data port from just after the SYN until the next read.
  for (let i = 0; i < 10; i++) {
    b.packet({ dport: 40000 + i, sport: 50000 + i });
    b.rows.push({ kind: 'listen', protocol: 'tcp', port: 40000 + i });
    b.advance(10_000);
    b.rows.pop();
  }
  // The listener closed before the read; the server's row of the connection (here in TIME_WAIT) remains.
  for (let i = 0; i < 10; i++) {
    b.packet({ dport: 41000 + i, sport: 51000 + i });
    b.rows.push({ kind: 'conn', protocol: 'tcp', port: 41000 + i, peer: SCANNER });
    b.advance(10_000);
  }
  t.is(b.reports.length, 0);
  t.is(b.stage.pending, 0);
  // A connection of another peer on the port proves nothing for this source.
  b.rows = b.rows.filter((r) => r.kind === 'listen');
  for (let i = 0; i < 6; i++) {
    b.packet({ dport: 43000 + i });
    b.rows.push({ kind: 'conn', protocol: 'tcp', port: 43000 + i, peer: parseAddress('198.19.9.9') });
    b.advance(10_000);
  }
  t.is(b.reports.length, 1);
});

test("on a device, another host's reset fails a contact although its source went on with an ACK; without any answer the ACK decides", (t) => {
  const b = new Bench({}, { localOnly: false });
  const inside = (n: number): number => parseAddress(`198.18.100.${n}`);
  for (let n = 1; n <= 5; n++) {
    b.packet({ daddr: inside(n), dport: 22 });
    b.packet({ daddr: inside(n), dport: 22, flags: ACK });
    b.packet({ saddr: inside(n), daddr: SCANNER, sport: 22, dport: 40000, flags: RST | ACK });
  }
  b.advance(MIN_REFRESH_MS + 1000);
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.kind, 'sweep');
  // A device that shows one direction only (a gateway's outside device) shows no answer:
  // the client's ACK is all there is, and the known limit in README says what it costs.
  const outside = new Bench({}, { localOnly: false });
  for (let n = 20; n < 30; n++) {
    outside.packet({ saddr: parseAddress('198.19.8.8'), daddr: inside(n), dport: 443 });
    outside.packet({ saddr: parseAddress('198.19.8.8'), daddr: inside(n), dport: 443, flags: ACK | 0x01 });
  }
  outside.advance(FOREIGN_WAIT_MS + 5000);
  t.is(outside.reports.length, 0);
  t.is(outside.stage.pending, 0);
});

test('a UDP datagram back from where a waiting contact went is its answer, not a probe', (t) => {
  const b = new Bench();
  const server = parseAddress('198.18.9.78');
  for (let i = 0; i < 10; i++) {
    // This host's client asks a server; its answer comes from the server's port to the client's.
    b.packet({ saddr: HOST, daddr: server, sport: 33000 + i, dport: 3478 }, 'udp');
    b.packet({ saddr: server, daddr: HOST, sport: 3478, dport: 33000 + i }, 'udp');
  }
  b.advance(10_000);
  t.is(b.reports.length, 0);
  t.is(b.stage.pending, 0);
});

test('one port failing on five hosts is a sweep', (t) => {
  const b = new Bench();
  for (let i = 1; i <= 5; i++) {
    b.packet({ daddr: parseAddress(`198.18.0.${2 * i - 1}`), dport: 445 });
    b.advance(60_000);
  }
  t.is(b.reports.length, 1);
  const r = b.reports[0]!;
  t.is(r.kind, 'sweep');
  t.is(r.port, 445);
  t.is(r.hosts, 5);
  t.is(r.protocol, 'tcp');
  t.is(b.stage.counters.sweeps, 1);
});

test("another host's contact (a gateway's device) waits for an answer: SYN+ACK succeeds, a reset fails at once, silence fails after the wait", (t) => {
  const b = new Bench({}, { localOnly: false });
  const inside = (n: number): number => parseAddress(`198.18.100.${n}`);
  // Answered: never counted.
  for (let n = 1; n <= 5; n++) {
    b.packet({ daddr: inside(n), dport: 22 });
    b.packet({ saddr: inside(n), daddr: SCANNER, sport: 22, dport: 40000, flags: SYN | ACK });
  }
  b.advance(FOREIGN_WAIT_MS + 5000);
  t.is(b.reports.length, 0);
  // Refused: judged at the next read, without the wait.
  for (let n = 6; n <= 10; n++) {
    b.packet({ daddr: inside(n), dport: 22 });
    b.packet({ saddr: inside(n), daddr: SCANNER, sport: 22, dport: 40000, flags: RST | ACK });
  }
  b.advance(MIN_REFRESH_MS + 1000);
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.kind, 'sweep');
  // Silent: only after the wait.
  const quiet = new Bench({}, { localOnly: false });
  for (let n = 20; n < 25; n++) quiet.packet({ saddr: parseAddress('198.19.8.8'), daddr: inside(n), dport: 23 });
  quiet.advance(FOREIGN_WAIT_MS - 5000);
  t.is(quiet.reports.length, 0);
  quiet.advance(10_000);
  t.is(quiet.reports.length, 1);
});

test('a fast sweep behind a gateway, judged at one read after the wait, is reported with the five hosts that made it one', (t) => {
  const b = new Bench({}, { localOnly: false });
  const inside = (n: number): number => parseAddress(`198.19.5.${n}`);
  // Faster than any read: every remembered contact (and more) waits at once.
  for (let n = 2; n < 40; n++) b.packet({ daddr: inside(n), dport: 22 });
  b.advance(FOREIGN_WAIT_MS + 5000);
  t.is(b.reports.length, 1);
  const r = b.reports[0]!;
  t.is(r.kind, 'sweep');
  t.is(r.port, 22);
  t.is(r.hosts, 5);
  t.deepEqual(
    r.failed.map((c) => c.daddr),
    [2, 3, 4, 5, 6].map(inside),
  );
  t.is(b.stage.pending, 0, 'the other remembered contacts are judged all the same');
});

test('due contacts are judged oldest first even when the ring stepped over one still waiting: the sweep is the first five hosts', (t) => {
  const b = new Bench({}, { localOnly: false });
  const inside = (n: number): number => parseAddress(`198.19.6.${n}`);
  const at = (n: number): number => T0 + n * 1000;
  // One contact a second, the tables not read in between: host 1 stays silent; the
  // second contact (another port) is answered at once, so its entry is judged.
  b.packet({ daddr: inside(1), dport: 23, time: at(0) >>> 0 });
  b.packet({ daddr: inside(50), dport: 80, time: at(1) >>> 0 });
  b.packet({ saddr: inside(50), daddr: SCANNER, sport: 80, dport: 40000, flags: SYN | ACK, time: at(1) >>> 0 });
  // The rest of the ring: silent hosts 3 to 12. Then host 99, which takes the entry after
  // host 1's, since host 1's still waits.
  for (let n = 3; n <= 12; n++) b.packet({ daddr: inside(n), dport: 23, time: at(n) >>> 0 });
  b.packet({ daddr: inside(99), dport: 23, time: at(13) >>> 0 });
  t.is(b.stage.pending, 12);
  b.now = at(13) + FOREIGN_WAIT_MS + 1000;
  b.refresh();
  t.is(b.reports.length, 1);
  const r = b.reports[0]!;
  t.is(r.kind, 'sweep');
  t.deepEqual(
    r.failed.map((c) => c.daddr),
    [1, 3, 4, 5, 6].map(inside),
  );
  t.is(r.last, at(6), 'the fifth host made it a sweep');
  t.is(b.stage.pending, 0);
});

test('on a /16, an address ending in .255 is a host: a sweep across such hosts is reported; the /16 broadcast is no contact', (t) => {
  const broadcast = parseAddress('198.18.255.255');
  const b = new Bench({}, { broadcasts: [broadcast] });
  const hosts = [1, 2, 3, 4, 5].map((n) => parseAddress(`198.18.${n}.255`));
  // LAN chatter to the network's broadcast, on many ports, from the same neighbour.
  for (const port of [137, 138, 1900, 5353, 17500, 67, 68]) b.packet({ daddr: broadcast, dport: port }, 'udp');
  b.advance(10_000);
  t.is(b.stage.pending, 0, 'a datagram to the broadcast address is no contact');
  for (const daddr of hosts) b.packet({ daddr, dport: 445 });
  b.advance(10_000);
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.kind, 'sweep');
  t.deepEqual(
    b.reports[0]!.failed.map((c) => c.daddr),
    hosts,
  );
  // Multicast and the limited broadcast are never contacts, whatever the host's networks.
  const none = new Bench();
  for (const port of [1, 2, 3, 4, 5, 6, 7, 8]) {
    none.packet({ daddr: parseAddress('239.255.255.250'), dport: port }, 'udp');
    none.packet({ daddr: parseAddress('255.255.255.255'), dport: port }, 'udp');
  }
  none.advance(10_000);
  t.is(none.stage.pending, 0);
  t.is(none.reports.length, 0);
});

test("started before the host had a network (no broadcast but loopback's), every x.y.z.255 is taken for a broadcast", (t) => {
  for (const broadcasts of [[], [parseAddress('127.255.255.255')]]) {
    const b = new Bench({}, { broadcasts });
    // A neighbour's chatter to its /24's broadcast, on many ports.
    for (const port of [137, 138, 1900, 5353, 17500, 67, 68, 3702]) {
      b.packet({ saddr: parseAddress('198.18.0.77'), daddr: parseAddress('198.18.0.255'), dport: port }, 'udp');
    }
    t.is(b.stage.pending, 0, JSON.stringify(broadcasts));
    b.advance(10_000);
    t.deepEqual(b.reports, []);
    // Other addresses are hosts as ever.
    for (let n = 1; n <= 5; n++) b.packet({ daddr: parseAddress(`198.18.${n}.254`), dport: 445 });
    b.advance(10_000);
    t.is(b.reports.length, 1);
    t.is(b.reports[0]!.kind, 'sweep');
  }
});

test("on a device, this host's own address is known from its sockets and its open ports count", (t) => {
  const b = new Bench({}, { localOnly: false });
  // A connection of the host shows its address.
  b.rows.push({ kind: 'conn', protocol: 'tcp', port: 22, peer: parseAddress('198.18.9.9') });
  b.advance(IDLE_REFRESH_MS);
  for (const port of OPEN) b.packet({ dport: port });
  t.is(b.stage.pending, 0, 'open ports of a known address succeed at once');
});

test('IPv6 sources have a table of their own', (t) => {
  const b = new Bench({}, { ipv6: true });
  const scanner = parseAddress6('fd00:bad::7');
  const host = parseAddress6('fd00::1');
  for (let i = 0; i < 6; i++) {
    b.stage.take6(
      { saddr: scanner, daddr: host, sport: 40000, dport: 1000 + i, flags: SYN, tos: 0, ttl: 64, time: b.now >>> 0 },
      'tcp',
      b.now,
    );
    b.advance(15_000);
  }
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.family, 'ipv6');
  t.deepEqual(Array.from(b.reports[0]!.saddr as Uint32Array), Array.from(scanner));
});

test('a spoofed flood of a million sources does not push out a source with two failed contacts; memory stays as allocated', (t) => {
  const b = new Bench();
  const bytes = b.stage.tableBytes;
  for (let i = 0; i < 3; i++) {
    b.packet({ dport: 7000 + i });
    b.advance(60_000);
  }
  // One SYN from each of 10^6 addresses, to random ports, within a minute.
  let x = 0x12345678;
  for (let i = 0; i < 1_000_000; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b.packet({ saddr: (0xc6130001 + i) >>> 0, dport: 1 + (x % 65535) });
    if (i % 20000 === 0) b.advance(1000);
  }
  // Nothing grew: every new source took a slot of the fixed table, each linked once, and
  // no chain outgrew its cap; the arrays are the ones allocated at start.
  const census = b.stage.ipv4.census();
  t.is(census.linked, census.stored);
  t.is(census.stored, DEFAULT_PARAMS.slowSources);
  t.true(census.longest <= MAX_CHAIN);
  t.is(b.stage.tableBytes, bytes);
  t.is(b.reports.length, 0);
  for (let i = 3; i < 6; i++) {
    b.packet({ dport: 7000 + i });
    b.advance(60_000);
  }
  const mine = b.reports.filter((r) => r.saddr === SCANNER);
  t.is(mine.length, 1);
  t.is(mine[0]!.failures, 6);
});

test('the unspecified source (0.0.0.0 or ::) is never followed, so it can never sit in two chains', (t) => {
  const b = new Bench({ slowSources: 16 }, { ipv6: true });
  for (let i = 0; i < 8; i++) {
    b.packet({ saddr: 0, dport: 1000 + i });
    b.stage.take6(
      {
        saddr: new Uint32Array(4),
        daddr: Uint32Array.of(0, 0, 0, 1),
        sport: 40000,
        dport: 1000 + i,
        flags: SYN,
        tos: 0,
        ttl: 64,
        time: b.now >>> 0,
      },
      'tcp',
      b.now,
    );
  }
  t.is(b.stage.pending, 0);
  // Enough other sources to take every slot again; then a scanner is still followed.
  for (let i = 1; i <= 64; i++) b.packet({ saddr: parseAddress(`198.18.${i}.9`), dport: 2000 });
  b.advance(60_000);
  for (let i = 0; i < 8; i++) {
    b.packet({ dport: 3000 + i });
    b.advance(15_000);
  }
  b.advance(180_000);
  t.true(
    b.reports.some((r) => r.kind === 'slow-scan' && r.saddr === SCANNER),
    JSON.stringify(b.reports),
  );
});

test('when every slot holds a source with evidence, a new source is refused and counted once however often it probes, not followed', (t) => {
  const b = new Bench({ slowSources: 16 });
  for (let s = 0; s < 16; s++) {
    for (let p = 0; p < 2; p++) b.packet({ saddr: parseAddress(`198.19.2.${s + 1}`), dport: 100 + p });
  }
  // A refused source that goes on probing (new ports, a retransmission) is one source refused.
  for (const dport of [100, 101, 102, 102, 103]) b.packet({ saddr: parseAddress('198.19.3.1'), dport });
  b.packet({ saddr: parseAddress('198.19.3.2'), dport: 100 });
  b.packet({ saddr: parseAddress('198.19.3.2'), dport: 104 });
  t.is(b.stage.counters.sourcesRefused, 2);
  // Said in one line, then not again for REFUSAL_LINE_MS, whatever else is refused.
  t.is(b.stage.refusalsToSay(b.now >>> 0), 2);
  b.packet({ saddr: parseAddress('198.19.3.3'), dport: 100 });
  t.is(b.stage.refusalsToSay((b.now + REFUSAL_LINE_MS - 1000) >>> 0), 0);
  t.is(b.stage.refusalsToSay((b.now + REFUSAL_LINE_MS) >>> 0), 1);
  t.is(b.stage.refusalsToSay((b.now + 3 * REFUSAL_LINE_MS) >>> 0), 0, 'nothing new refused');
  // The sixteen expire after their idle time; then a newcomer takes a slot.
  b.advance(31 * 60_000);
  b.packet({ saddr: parseAddress('198.19.3.1'), dport: 100 });
  t.is(b.stage.counters.sourcesRefused, 3);
});

/** The scanner, which failed on port 9000, probes five more closed ports `gap` apart: it is reported, with all six. */
function scannerGoesOn(t: ExecutionContext, b: Bench, gap: number): void {
  for (let i = 1; i < 6; i++) {
    b.packet({ dport: 9000 + i });
    b.advance(gap);
  }
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.saddr, SCANNER);
  t.is(b.reports[0]!.failures, 6);
}

test("a first contact that succeeds takes no slot: a host's clients never push out a source with one failed contact", (t) => {
  const b = new Bench({ slowSources: 64 });
  b.packet({ dport: 9000 });
  b.advance(10_000);
  // Ten thousand clients of the open ports, each new.
  for (let i = 0; i < 10_000; i++) b.packet({ saddr: 0x0a000000 + i, dport: OPEN[i % 3] as number });
  t.is(b.stage.pending, 0);
  scannerGoesOn(t, b, 300_000);
});

test('a new source takes a free slot, then one of a source without failures, before one with a failed contact, oldest first', (t) => {
  const b = new Bench({ slowSources: 64 });
  b.packet({ dport: 9000 });
  b.advance(10_000);
  // 200 sources whose one contact, to a port that opened in time, succeeds at the read.
  for (let i = 0; i < 200; i++) {
    b.packet({ saddr: 0x0a000000 + i, dport: 30000 + i });
    b.rows.push({ kind: 'listen', protocol: 'tcp', port: 30000 + i });
  }
  b.advance(10_000);
  t.is(b.stage.pending, 0);
  scannerGoesOn(t, b, 60_000);
});

/** A key for the tables' hash, so that a test can place sources in one bucket. */
const KEY = Uint32Array.of(0x9e3779b9, 0x7f4a7c15, 0x85ebca6b);

/** `count` addresses that share `bucket` of the stage's table (two buckets per source) under KEY. */
function sharingBucket(count: number, bucket: number): number[] {
  const buckets = 1 << Math.ceil(Math.log2(2 * DEFAULT_PARAMS.slowSources));
  const sharing: number[] = [];
  for (let a = 0x0a000001; sharing.length < count; a++) if (keyedHashAddress(a, buckets, KEY) === bucket) sharing.push(a);
  return sharing;
}

test('a bucket holds at most MAX_CHAIN sources: more that share it are refused, not chained', (t) => {
  const b = new Bench({}, { hashKey: KEY });
  const sharing = sharingBucket(MAX_CHAIN + 4, 5);
  for (const saddr of sharing) b.packet({ saddr, dport: 9999 });
  t.is(b.stage.counters.sourcesRefused, 4);
  t.is(b.stage.pending, MAX_CHAIN);
});

test('two refused sources that share a full bucket are each counted once, however they alternate', (t) => {
  const b = new Bench({}, { hashKey: KEY });
  const sharing = sharingBucket(MAX_CHAIN + 2, 9);
  for (const saddr of sharing.slice(0, MAX_CHAIN)) b.packet({ saddr, dport: 9999 });
  t.is(b.stage.counters.sourcesRefused, 0);
  const [first, second] = sharing.slice(MAX_CHAIN) as [number, number];
  for (let i = 0; i < 5; i++) {
    b.packet({ saddr: first, dport: 100 + i });
    b.packet({ saddr: second, dport: 100 + i });
  }
  t.is(b.stage.counters.sourcesRefused, 2);
});

test('a source refused, then followed, then forgotten and refused again is counted again', (t) => {
  const b = new Bench({ slowSources: 16 }, { hashKey: Uint32Array.of(0x2545f491, 0x9e3779b9, 0x6a09e667) });
  const x = parseAddress('198.19.4.1');
  const fill = (round: number): void => {
    for (let s = 0; s < 16; s++) {
      for (let p = 0; p < 2; p++) b.packet({ saddr: parseAddress(`198.19.${10 + round}.${s + 1}`), dport: 100 + p });
    }
  };
  fill(0);
  b.packet({ saddr: x, dport: 100 });
  t.is(b.stage.counters.sourcesRefused, 1);
  // The sixteen expire; the source is followed, then expires in its turn.
  b.advance(31 * 60_000);
  b.packet({ saddr: x, dport: 101 });
  t.is(b.stage.pending, 1, 'followed');
  b.advance(31 * 60_000);
  fill(1);
  t.is(b.stage.counters.sourcesRefused, 1);
  b.packet({ saddr: x, dport: 102 });
  t.is(b.stage.counters.sourcesRefused, 2);
});

test('while a socket table cannot be read, no contact is judged: clients of open ports are dropped unjudged, not failed', (t) => {
  const b = new Bench();
  b.unreadable = true;
  // Clients of port 443, which the failed read did not get to; the first reads before they come show it open.
  const client = (i: number): number => parseAddress(`198.19.30.${i + 1}`);
  b.advance(MIN_REFRESH_MS);
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < 20; i++) b.packet({ saddr: client(i), dport: 443, daddr: parseAddress(`198.18.0.${round + 1}`) });
    b.advance(10_000);
  }
  t.deepEqual(b.reports, []);
  t.is(b.stage.pending, 0);
  t.true(b.stage.counters.contactsDropped > 0);
  // Read again: judging resumes.
  b.unreadable = false;
  for (let i = 0; i < 6; i++) {
    b.packet({ dport: 9100 + i });
    b.advance(10_000);
  }
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.saddr, SCANNER);
});

test('the 32-bit millisecond clock wraps: a slow scan across the wrap is caught, a source idle past it is not brought back', (t) => {
  const WRAP = 2 ** 32;
  const b = new Bench();
  b.now = WRAP - 15 * 60_000;
  for (let i = 0; i < 6; i++) {
    b.packet({ dport: 1000 + i });
    b.advance(300_000);
  }
  t.true(b.now > WRAP);
  t.is(b.reports.length, 1);
  t.is(b.reports[0]!.failures, 6);

  // Five failures, then quiet for a whole turn of the clock and a minute, the tables read
  // every half hour: the sixth probe finds the source forgotten.
  const quiet = new Bench();
  const saddr = parseAddress('198.19.77.7');
  for (let i = 0; i < 5; i++) {
    quiet.packet({ saddr, dport: 1000 + i });
    quiet.advance(60_000);
  }
  const end = quiet.now + WRAP + 60_000;
  while (quiet.now + 30 * 60_000 < end) {
    quiet.now += 30 * 60_000;
    quiet.refresh();
  }
  quiet.now = end;
  quiet.packet({ saddr, dport: 2000 });
  quiet.advance(10_000);
  t.deepEqual(quiet.reports, []);
});

test('the socket tables are read when contacts wait, at most every MIN_REFRESH_MS and COST_FACTOR times their cost, and every IDLE_REFRESH_MS anyway', (t) => {
  const b = new Bench();
  const at = b.now >>> 0;
  t.false(b.stage.wantsRefresh(at + 1000), 'nothing waits');
  t.true(b.stage.wantsRefresh(at + IDLE_REFRESH_MS));
  b.packet({ dport: 9999 });
  t.false(b.stage.wantsRefresh(at + LOCAL_GRACE_MS - 1), 'within the grace');
  t.true(b.stage.wantsRefresh(at + Math.max(LOCAL_GRACE_MS, MIN_REFRESH_MS)));
  b.stage.noteRefreshCost(50);
  t.false(b.stage.wantsRefresh(at + COST_FACTOR * 50 - 1), 'a read that cost 50 ms waits 5 s');
  t.true(b.stage.wantsRefresh(at + COST_FACTOR * 50));
});

/** A host's answer leaving the watched device, as the answers handle gives it: to the scanner's contact of `host`:`port`. */
function answerOf(host: number, port: number, accepted: boolean, time: number, source = SCANNER): Answer4Record {
  return { type: 'answer4', host, source, port, sourcePort: 40000, protocol: 'tcp', accepted, time: time >>> 0 };
}

test('on a device, an answer read before the contact it answers judges the contact as it is recorded: the sweep is reported at its fifth', (t) => {
  const b = new Bench({}, { localOnly: false });
  const inside = (n: number): number => parseAddress(`198.19.5.${n}`);
  const reports: Array<SlowReport | null> = [];
  for (let n = 1; n <= 5; n++) {
    t.is(b.stage.answer4(answerOf(inside(n), 22, false, b.now), b.now), null);
    reports.push(
      b.stage.take4(
        { saddr: SCANNER, daddr: inside(n), sport: 40000, dport: 22, flags: SYN, tos: 0, ttl: 64, time: b.now >>> 0 },
        'tcp',
        b.now,
      ),
    );
    b.now += 3;
  }
  t.deepEqual(reports.slice(0, 4), [null, null, null, null]);
  t.like(reports[4], { kind: 'sweep', port: 22, hosts: 5 });
  t.is(b.stage.pending, 0, 'no contact waits for the 120 s');
  // A SYN+ACK read first: the contact succeeded, and nothing is left to judge.
  b.stage.answer4(answerOf(inside(50), 80, true, b.now), b.now);
  b.packet({ daddr: inside(50), dport: 80 });
  t.is(b.stage.pending, 0);
  b.advance(FOREIGN_WAIT_MS + 5000);
  t.is(b.reports.length, 0);
  t.deepEqual([b.stage.counters.sweeps, b.stage.counters.slowScans], [1, 0]);
});

test('on a device, an answer read more than the window before the contact judges nothing: the contact waits', (t) => {
  const b = new Bench({}, { localOnly: false });
  const inside = parseAddress('198.19.5.7');
  b.stage.answer4(answerOf(inside, 22, false, b.now), b.now);
  b.now += ANSWER_WINDOW_MS + 1;
  b.packet({ daddr: inside, dport: 22 });
  t.is(b.stage.pending, 1);
  // Within the window it would have been judged.
  b.stage.answer4(answerOf(inside, 23, false, b.now), b.now);
  b.now += ANSWER_WINDOW_MS;
  b.packet({ daddr: inside, dport: 23 });
  t.is(b.stage.pending, 1);
});

test('on a device, an answer kept for a contact judges it once: the same probe made again, once forgotten, waits', (t) => {
  const b = new Bench({}, { localOnly: false });
  const inside = (n: number): number => parseAddress(`198.19.5.${n}`);
  b.stage.answer4(answerOf(inside(1), 22, false, b.now), b.now);
  b.packet({ daddr: inside(1), dport: 22 });
  t.is(b.stage.pending, 0);
  // The scanner's ring of contacts moves on, each answered after it: the first is forgotten.
  for (let n = 2; n < 2 + CONTACTS; n++) {
    b.packet({ daddr: inside(n), dport: 80 });
    b.stage.answer4(answerOf(inside(n), 80, true, b.now), b.now);
  }
  t.is(b.stage.pending, 0);
  b.packet({ daddr: inside(1), dport: 22 });
  t.is(b.stage.pending, 1, 'a first contact again, and the answer is used up');
});

test('on a device, a flood of answers that match no contact leaves the memory as it was; on the raw socket no answer is kept', (t) => {
  const b = new Bench({}, { localOnly: false });
  const bytes = b.stage.tableBytes;
  for (let i = 0; i < 100_000; i++)
    b.stage.answer4(answerOf(0x0a000000 + i, 1 + (i % 1000), false, b.now + (i >> 8), 0x0b000000 + i), b.now);
  t.is(b.stage.tableBytes, bytes);
  t.is(b.stage.ipv4.census().stored, 0, 'an answer never takes a slot');
  t.is(b.stage.counters.sourcesRefused, 0);
  const raw = new Bench();
  t.is(bytes - raw.stage.tableBytes, new EarlyAnswers(IPV4, new Uint32Array(3)).tableBytes, 'the raw socket stage has no ring');
  // The scanner's contact after the flood, its answer read just before it: judged at once.
  const inside = parseAddress('198.19.5.7');
  b.now += 100_000 >> 8;
  b.stage.answer4(answerOf(inside, 22, false, b.now), b.now);
  b.packet({ daddr: inside, dport: 22 });
  t.is(b.stage.pending, 0);
});
