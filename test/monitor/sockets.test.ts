// The socket tables the second stage reads: rows as this kernel writes them (a fixture
// taken from /proc/net in a namespace, and the live tables of this process), the ports
// open to anyone with the addresses they are bound to, reads split anywhere, and the
// seq_file behaviour the refresh relies on (a read from position 0 walks afresh).

import test from 'ava';
import fs = require('node:fs');
import net = require('node:net');
import { PortMap, SocketTables, newRowScratch, parseRows, MAX_BOUND, type SocketSink } from '../../src/monitor/sockets.js';
import type { SocketTable } from '../../src/shared/fds.js';
import type { Protocol } from '../../src/shared/record.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { parseAddress6 } from '../../src/shared/ipv6.js';

/**
 * What /proc/net showed (Linux 6.18, x86-64) in a namespace with: TCP listeners on
 * 127.0.0.1:3306, 0.0.0.0:80 and [::]:443, a connection from 127.0.0.1:54540 to
 * port 80 (both ends), UDP bound to 0.0.0.0:53 and [::]:5353, and a UDP socket on
 * 127.0.0.1:40123 connected to 127.0.0.1:3478.
 */
const FIXTURE: Record<SocketTable, string> = {
  tcp: `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1106337 1 0000000049fb3a84 100 0 0 10 0                   
   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1106338 1 00000000a949a8d1 100 0 0 10 0                   
   2: 0100007F:D50C 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 1106343 2 000000001b823bec 20 0 0 10 -1                   
   3: 0100007F:0050 0100007F:D50C 01 00000000:00000000 00:00000000 00000000     0        0 1106344 1 000000000b96fcf2 20 0 0 10 -1                   
`,
  tcp6: `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1106339 1 000000001f248656 100 0 0 10 0
`,
  udp: `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
 2132: 0100007F:9CBB 0100007F:0D96 01 00000000:00000000 00:00000000 00000000     0        0 1106342 2 000000002b481e5c 0       
11214: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1106340 2 00000000964bbf0a 0       
`,
  udp6: `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  130: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1106341 2 00000000a6f88361 0
`,
};

const v4 = (text: string): Uint32Array => Uint32Array.of(0, 0, 0xffff, parseAddress(text));
const text = (a: Uint32Array): string =>
  a[0] === 0 && a[1] === 0 && a[2] === 0xffff
    ? `${a[3]! >>> 24}.${(a[3]! >>> 16) & 255}.${(a[3]! >>> 8) & 255}.${a[3]! & 255}`
    : Array.from(a).join(':');

/** Every row a sink is given, as text. */
function recorder(): SocketSink & { rows: string[] } {
  const rows: string[] = [];
  return {
    rows,
    listener: (protocol: Protocol, local: Uint32Array, port: number) => rows.push(`listen ${protocol} ${text(local)}:${port}`),
    connection: (protocol: Protocol, local: Uint32Array, port: number, peer: Uint32Array) =>
      rows.push(`conn ${protocol} ${text(local)}:${port} ${text(peer)}`),
  };
}

function parseAll(table: SocketTable, body: string, sink: SocketSink): number {
  const buf = Buffer.from(body);
  return parseRows(buf, buf.length, table, sink, newRowScratch());
}

test('rows of each table as this kernel writes them: listeners, connections and connected UDP sockets', (t) => {
  const sink = recorder();
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6'] as const) t.is(parseAll(table, FIXTURE[table], sink), FIXTURE[table].length);
  t.deepEqual(sink.rows, [
    'listen tcp 127.0.0.1:3306',
    'listen tcp 0.0.0.0:80',
    'conn tcp 127.0.0.1:54540 127.0.0.1',
    'conn tcp 127.0.0.1:80 127.0.0.1',
    'listen tcp 0:0:0:0:443',
    'conn udp 127.0.0.1:40123 127.0.0.1',
    'listen udp 0.0.0.0:53',
    'listen udp 0:0:0:0:5353',
  ]);
});

test('an IPv6 address is read word by word in the host order the kernel prints', (t) => {
  const sink = recorder();
  // fd00::1 port 22 in LISTEN, as x86-64 prints it.
  parseAll('tcp6', '   0: 000000FD000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 0\n', sink);
  t.deepEqual(sink.rows, [`listen tcp ${Array.from(parseAddress6('fd00::1')).join(':')}:22`]);
});

test('a line cut short is left for the next read; lines of another shape are skipped', (t) => {
  const sink = recorder();
  const body = FIXTURE.tcp;
  const cut = body.indexOf('\n', body.indexOf('   1:')) - 20;
  const buf = Buffer.from(body);
  t.is(parseRows(buf, cut, 'tcp', sink, newRowScratch()), body.indexOf('   1:'));
  t.is(sink.rows.length, 1);
  const junk = recorder();
  const lines = 'garbage: line\n   0: ZZ00007F:0CEA 00000000:0000 0A x\n:\n\n   1: 0100007F:0000 00000000:0000 0A 0\n';
  t.is(parseAll('tcp', lines, junk), lines.length);
  t.deepEqual(junk.rows, [], 'not hex, too short, port 0');
});

/**
 * The rows a parser of the kernel's layout should report for `text`, by a regular
 * expression: a colon ending the slot number and a blank, the local address and port,
 * one character, the remote address, one character, its port, one character, the state
 * and at least one more character on the line.
 */
function expectedRows(text: string, words: 1 | 4, udp: boolean): string[] {
  const hex = `[0-9A-Fa-f]{${8 * words}}`;
  const row = new RegExp(`^[^:]*: (${hex}):([0-9A-Fa-f]{4}).(${hex}).([0-9A-Fa-f]{4}).([0-9A-Fa-f]{2}).`);
  const out: string[] = [];
  for (const line of text.split('\n').slice(0, -1)) {
    const m = row.exec(line);
    if (m === null) continue;
    const port = parseInt(m[2]!, 16);
    const peer = m[3]!;
    const peerPort = parseInt(m[4]!, 16);
    const st = parseInt(m[5]!, 16);
    if (port === 0) continue;
    const anyPeer = /^0+$/.test(peer) || (words === 4 && /^0{16}(FFFF0000|ffff0000)0{8}$/.test(peer));
    if (udp ? st === 0x07 && peerPort === 0 && anyPeer : st === 0x0a) out.push(`listen ${port}`);
    else if (!anyPeer || !udp) out.push(`conn ${port}`);
  }
  return out;
}

test('rows with one character changed anywhere are reported exactly as the layout says', (t) => {
  let seed = 7;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const alphabet = '0123456789ABCDEFaf: \nxZ';
  let reported = 0;
  for (const table of ['tcp', 'udp', 'tcp6', 'udp6'] as const) {
    const body = FIXTURE[table];
    const words = table.endsWith('6') ? 4 : 1;
    for (let round = 0; round < 1500; round++) {
      const chars = body.split('');
      for (let k = 0; k < 1 + rnd(3); k++) chars[rnd(chars.length)] = alphabet[rnd(alphabet.length)]!;
      const text = chars.join('');
      const rows: string[] = [];
      const sink: SocketSink = {
        listener: (_p, _l, port) => rows.push(`listen ${port}`),
        connection: (_p, _l, port) => rows.push(`conn ${port}`),
      };
      parseRows(Buffer.from(text), text.length, table, sink, newRowScratch());
      t.deepEqual(rows, expectedRows(text, words, table.startsWith('udp')), JSON.stringify(text));
      reported += rows.length;
    }
  }
  t.true(reported > 1000, `${reported} rows reported`);
});

test('reads split anywhere give the same rows as one read', (t) => {
  const whole = recorder();
  const table = new SocketTables([{ table: 'tcp', fd: 0 }], (_fd, buffer, offset, length, position) => {
    const body = Buffer.from(FIXTURE.tcp);
    return body.copy(buffer, offset, position, Math.min(body.length, position + length));
  });
  table.refresh(whole);
  for (const piece of [1, 7, 64, 150]) {
    const split = recorder();
    const tables = new SocketTables([{ table: 'tcp', fd: 0 }], (_fd, buffer, offset, length, position) => {
      const body = Buffer.from(FIXTURE.tcp);
      return body.copy(buffer, offset, position, Math.min(body.length, position + Math.min(length, piece)));
    });
    const stats = tables.refresh(split);
    t.is(stats.bytes, FIXTURE.tcp.length);
    t.deepEqual(split.rows, whole.rows, `pieces of ${piece} bytes`);
  }
  t.is(whole.rows.length, 4);
});

test('a table that cannot be read is reported by name and the others are still read', (t) => {
  const sink = recorder();
  const tables = new SocketTables(
    [
      { table: 'tcp', fd: 1 },
      { table: 'udp', fd: 2 },
    ],
    (fd, buffer, offset, length, position) => {
      if (fd === 1) throw Object.assign(new Error('bad descriptor'), { code: 'EBADF' });
      const body = Buffer.from(FIXTURE.udp);
      return body.copy(buffer, offset, position, Math.min(body.length, position + length));
    },
  );
  const stats = tables.refresh(sink);
  t.deepEqual(stats.failed, [{ table: 'tcp', why: 'EBADF' }]);
  t.is(sink.rows.length, 2);
});

test('a table that reads as nothing at all (not even its header) is a read that failed', (t) => {
  const tables = new SocketTables(
    [
      { table: 'tcp', fd: 1 },
      { table: 'udp', fd: 2 },
    ],
    (fd, buffer, offset, length, position) => {
      const body = Buffer.from(fd === 1 ? '' : FIXTURE.udp);
      return body.copy(buffer, offset, position, Math.min(body.length, position + length));
    },
  );
  t.deepEqual(tables.refresh(recorder()).failed, [{ table: 'tcp', why: 'empty read' }]);
});

function fixtureMap(): PortMap {
  const map = new PortMap();
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6'] as const) parseAll(table, FIXTURE[table], map);
  return map;
}

test('open ports: every address for a wildcard socket, only its own for a bound one', (t) => {
  const map = fixtureMap();
  const host = v4('198.18.0.1');
  t.true(map.isOpen('tcp', host, 80), 'listening on 0.0.0.0');
  t.true(map.isOpen('tcp', host, 443), 'listening on [::]: taken as dual-stack');
  t.false(map.isOpen('tcp', host, 3306), 'listening on 127.0.0.1 only');
  t.true(map.isOpen('tcp', v4('127.0.0.1'), 3306));
  t.false(map.isOpen('tcp', host, 54540), 'the client end of a connection receives from its peer only');
  t.true(map.isOpen('udp', host, 53));
  t.true(map.isOpen('udp', parseAddress6('fd00::1'), 5353));
  t.false(map.isOpen('udp', host, 40123), 'a connected UDP socket takes datagrams from its peer only');
  t.false(map.isOpen('udp', host, 80), 'TCP and UDP apart');
  t.true(map.listeners > 0);
});

test("this host's addresses are learned from its sockets' local side", (t) => {
  const map = fixtureMap();
  t.true(map.isLocal(v4('127.0.0.1')));
  t.false(map.isLocal(v4('198.18.100.7')));
  map.clear();
  t.false(map.isLocal(v4('127.0.0.1')));
  t.false(map.isOpen('tcp', v4('198.18.0.1'), 80));
});

test(`beyond ${MAX_BOUND} bindings to one address, a port counts as open on every address`, (t) => {
  const map = new PortMap();
  for (let i = 0; i < MAX_BOUND; i++) map.listener('tcp', v4(`10.0.${i >> 8}.${i & 255}`), 1000 + (i % 7));
  t.false(map.isOpen('tcp', v4('198.18.0.1'), 53));
  map.listener('tcp', v4('10.99.0.1'), 53);
  t.true(map.isOpen('tcp', v4('198.18.0.1'), 53));
  t.true(map.isOpen('tcp', v4('10.0.1.1'), 1000 + (257 % 7)));
});

test('the live tables of this process: a read from position 0 shows a listener opened after the first read', async (t) => {
  const fd = fs.openSync('/proc/self/net/tcp', 'r');
  t.teardown(() => fs.closeSync(fd));
  const tables = new SocketTables([{ table: 'tcp', fd }]);
  const before = new PortMap();
  tables.refresh(before);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  t.false(before.isOpen('tcp', v4('127.0.0.1'), port));
  // The same descriptor, read again from its start.
  const after = new PortMap();
  tables.refresh(after);
  t.true(after.isOpen('tcp', v4('127.0.0.1'), port));
  t.false(after.isOpen('tcp', v4('198.18.0.1'), port));
});
