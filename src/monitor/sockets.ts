// What this host's own sockets say about its ports: the kernel's socket tables
// (/proc/net/tcp, tcp6, udp, udp6), read through descriptors the capture process opened
// before the monitor started, parsed into the ports anyone can reach and handed, row by
// row, to whoever asks about connections. The monitor opens no file for this.

import fs = require('node:fs');
import os = require('node:os');
import type { SocketTable } from '../shared/fds.js';
import type { Protocol } from '../shared/record.js';

/**
 * Receives the rows of a table. Addresses are four words, most significant first, an
 * IPv4 address in its IPv4-mapped form (::ffff:a.b.c.d); the array is reused for the
 * next row, so a sink copies what it keeps.
 */
export interface SocketSink {
  /** A socket anyone can reach: TCP in LISTEN, UDP bound and not connected. An all-zero `local` is every address. */
  listener(protocol: Protocol, local: Uint32Array, port: number): void;
  /** A socket with one peer: a TCP connection in any other state (SYN_RECV, TIME_WAIT included), a connected UDP socket. */
  connection(protocol: Protocol, local: Uint32Array, port: number, peer: Uint32Array): void;
}

const TCP_LISTEN = 0x0a;
const UDP_UNCONNECTED = 0x07;

/** Hex digit values by character code; 255 for anything else. */
const HEX = new Uint8Array(256).fill(255);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[65 + c] = 10 + c;
  HEX[97 + c] = 10 + c;
}

/** The kernel prints each 32-bit word of an address as the number the host reads it as. */
const LITTLE_ENDIAN = os.endianness() === 'LE';

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** `digits` hex characters at `at`, or -1 if one is not a hex digit. */
function hexAt(buf: Buffer, at: number, digits: number): number {
  let v = 0;
  for (let i = 0; i < digits; i++) {
    const d = HEX[buf[at + i] as number] as number;
    if (d === 255) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Reads an address of `words` words at `at` into `out` (IPv4 as mapped). Returns false
 * when the text is not hex.
 */
function addressAt(buf: Buffer, at: number, words: 1 | 4, out: Uint32Array): boolean {
  if (words === 1) {
    const v = hexAt(buf, at, 8);
    if (v < 0) return false;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0xffff;
    out[3] = LITTLE_ENDIAN ? swap32(v) : v;
    return true;
  }
  for (let i = 0; i < 4; i++) {
    const v = hexAt(buf, at + 8 * i, 8);
    if (v < 0) return false;
    out[i] = LITTLE_ENDIAN ? swap32(v) : v;
  }
  return true;
}

/** The unspecified address of either family: :: or the mapped 0.0.0.0. */
const isAnyAddress = (a: Uint32Array): boolean => a[0] === 0 && a[1] === 0 && (a[2] === 0 || a[2] === 0xffff) && a[3] === 0;

/**
 * Parses the whole lines of `buf[0, end)` of one table into `sink`; returns where the
 * first incomplete line starts (`end` when the text ends with a line). Lines that do
 * not have the kernel's shape (the header among them) are skipped.
 *
 * A row: `  sl: LOCAL:PORT REMOTE:PORT ST ...`, addresses as 8 or 32 hex digits, ports
 * as 4, the state as 2.
 */
export function parseRows(buf: Buffer, end: number, table: SocketTable, sink: SocketSink, scratch: RowScratch): number {
  const words = table === 'tcp' || table === 'udp' ? 1 : 4;
  const protocol: Protocol = table === 'tcp' || table === 'tcp6' ? 'tcp' : 'udp';
  const addressDigits = 8 * words;
  let line = 0;
  while (line < end) {
    const newline = buf.indexOf(10, line);
    if (newline < 0 || newline >= end) return line;
    const colon = buf.indexOf(58, line);
    // "sl:" then one blank, then local, remote, state, each followed by one character.
    const local = colon + 2;
    const remote = local + addressDigits + 6;
    const state = remote + addressDigits + 6;
    if (colon > 0 && colon < newline && state + 2 < newline && buf[local - 1] === 32 && buf[local + addressDigits] === 58) {
      const port = hexAt(buf, local + addressDigits + 1, 4);
      const peerPort = hexAt(buf, remote + addressDigits + 1, 4);
      const st = hexAt(buf, state, 2);
      if (
        port > 0 &&
        peerPort >= 0 &&
        st >= 0 &&
        addressAt(buf, local, words, scratch.local) &&
        addressAt(buf, remote, words, scratch.peer)
      ) {
        if (protocol === 'tcp' ? st === TCP_LISTEN : st === UDP_UNCONNECTED && peerPort === 0 && isAnyAddress(scratch.peer)) {
          sink.listener(protocol, scratch.local, port);
        } else if (!isAnyAddress(scratch.peer) || protocol === 'tcp') {
          sink.connection(protocol, scratch.local, port, scratch.peer);
        }
      }
    }
    line = newline + 1;
  }
  return line;
}

export interface RowScratch {
  local: Uint32Array;
  peer: Uint32Array;
}

export const newRowScratch = (): RowScratch => ({ local: new Uint32Array(4), peer: new Uint32Array(4) });

/** Reads `length` bytes at `position` of `fd` into `buffer` (fs.readSync, or a test's fake). */
export type PositionalRead = (fd: number, buffer: Buffer, offset: number, length: number, position: number) => number;

/** What one refresh read. */
export interface RefreshStats {
  bytes: number;
  /** Tables that could not be read, with why (the stage judges nothing until all are read again). */
  failed: Array<{ table: SocketTable; why: string }>;
}

/** Bytes read at once; the kernel fills at most a page per call of its own anyway. */
const CHUNK_BYTES = 64 * 1024;

/**
 * The tables the capture process opened for the monitor, each read again from the
 * start at every refresh. A read at position 0 makes the kernel walk its tables afresh
 * (seq_file), so the same descriptor shows the sockets of that moment; reads at the
 * following positions continue the walk.
 */
export class SocketTables {
  private readonly buffer = Buffer.alloc(CHUNK_BYTES);
  private readonly scratch = newRowScratch();

  constructor(
    readonly tables: ReadonlyArray<{ table: SocketTable; fd: number }>,
    private readonly read: PositionalRead = fs.readSync,
  ) {}

  refresh(sink: SocketSink): RefreshStats {
    const stats: RefreshStats = { bytes: 0, failed: [] };
    for (const { table, fd } of this.tables) {
      try {
        const bytes = this.readTable(table, fd, sink);
        // Every table starts with a header line: nothing at all is a read that failed.
        if (bytes === 0) stats.failed.push({ table, why: 'empty read' });
        stats.bytes += bytes;
      } catch (err) {
        stats.failed.push({ table, why: (err as NodeJS.ErrnoException).code ?? String(err) });
      }
    }
    return stats;
  }

  private readTable(table: SocketTable, fd: number, sink: SocketSink): number {
    const buf = this.buffer;
    let position = 0;
    let kept = 0;
    for (;;) {
      const n = this.read(fd, buf, kept, buf.length - kept, position);
      position += n;
      const end = kept + n;
      const rest = parseRows(buf, end, table, sink, this.scratch);
      if (n === 0) return position;
      // A line longer than the buffer cannot be a row: drop it.
      kept = rest === 0 && end === buf.length ? 0 : end - rest;
      if (kept > 0) buf.copy(buf, 0, rest, end);
    }
  }
}

/** Entries of the table of ports bound to one address, at most; beyond, a port counts as open on every address. */
export const MAX_BOUND = 4096;
/** This host's own addresses learned from its sockets, at most. */
export const MAX_LOCAL_ADDRESSES = 1024;

const PORT_WORDS = 65536 / 32;
const EMPTY = 0xffffffff;

/**
 * The ports of this host that anyone can reach, as of the last refresh: per protocol a
 * bit per port for sockets bound to every address, and a small table of those bound to
 * one address (a service on 127.0.0.1 does not make the port open on the host's public
 * address). A socket bound to :: is taken to serve IPv4 too, as a dual-stack socket
 * does: when in doubt a port is open, which can only make a probe count less.
 *
 * It also learns this host's addresses from the local side of its sockets, for the
 * devices (libpcap on a gateway) that show traffic to other hosts as well.
 */
export class PortMap implements SocketSink {
  private readonly anyAddress = { tcp: new Uint32Array(PORT_WORDS), udp: new Uint32Array(PORT_WORDS) };
  /** Open addressing: four address words and (protocol << 16 | port) per entry. */
  private readonly bound = new Uint32Array(2 * MAX_BOUND * 5).fill(EMPTY);
  private boundCount = 0;
  private readonly locals = new Uint32Array(2 * MAX_LOCAL_ADDRESSES * 4).fill(EMPTY);
  private localCount = 0;
  /** Listeners counted at the last refresh, for the counters. */
  listeners = 0;

  /** Forgets everything, before a refresh. */
  clear(): void {
    this.anyAddress.tcp.fill(0);
    this.anyAddress.udp.fill(0);
    this.bound.fill(EMPTY);
    this.boundCount = 0;
    this.locals.fill(EMPTY);
    this.localCount = 0;
    this.listeners = 0;
  }

  listener(protocol: Protocol, local: Uint32Array, port: number): void {
    this.listeners++;
    if (isAnyAddress(local)) {
      setBit(this.anyAddress[protocol], port);
      return;
    }
    this.learnLocal(local);
    if (this.boundCount >= MAX_BOUND) {
      setBit(this.anyAddress[protocol], port);
      return;
    }
    const key = portKey(protocol, port);
    const at = this.findBound(local, key);
    if (this.bound[at + 4] === EMPTY) {
      this.bound.set(local, at);
      this.bound[at + 4] = key;
      this.boundCount++;
    }
  }

  connection(_protocol: Protocol, local: Uint32Array): void {
    if (!isAnyAddress(local)) this.learnLocal(local);
  }

  /** Whether a socket of `protocol` receives from anyone on `port` of `address` (IPv4 as mapped). */
  isOpen(protocol: Protocol, address: Uint32Array, port: number): boolean {
    if (hasBit(this.anyAddress[protocol], port)) return true;
    if (this.boundCount === 0) return false;
    return this.bound[this.findBound(address, portKey(protocol, port)) + 4] !== EMPTY;
  }

  /** Whether `address` is one of this host's, as far as its sockets show. */
  isLocal(address: Uint32Array): boolean {
    return this.localCount > 0 && !isEmptyEntry(this.locals, this.findLocal(address));
  }

  private learnLocal(address: Uint32Array): void {
    if (this.localCount >= MAX_LOCAL_ADDRESSES) return;
    const at = this.findLocal(address);
    if (isEmptyEntry(this.locals, at)) {
      this.locals.set(address, at);
      this.localCount++;
    }
  }

  /** The entry of `address` and `key`, or the empty one where it would go. */
  private findBound(address: Uint32Array, key: number): number {
    const slots = this.bound.length / 5;
    let i = mix(address, key) & (slots - 1);
    for (;;) {
      const at = i * 5;
      const k = this.bound[at + 4] as number;
      if (k === EMPTY || (k === key && sameAddress(this.bound, at, address))) return at;
      i = (i + 1) & (slots - 1);
    }
  }

  private findLocal(address: Uint32Array): number {
    const slots = this.locals.length / 4;
    let i = mix(address, 0) & (slots - 1);
    for (;;) {
      const at = i * 4;
      if (isEmptyEntry(this.locals, at) || sameAddress(this.locals, at, address)) return at;
      i = (i + 1) & (slots - 1);
    }
  }

  /** Bytes of its fixed tables. */
  get tableBytes(): number {
    return this.anyAddress.tcp.byteLength + this.anyAddress.udp.byteLength + this.bound.byteLength + this.locals.byteLength;
  }
}

const portKey = (protocol: Protocol, port: number): number => ((protocol === 'tcp' ? 0 : 1) << 16) | port;

function setBit(set: Uint32Array, port: number): void {
  set[port >>> 5] = (set[port >>> 5] as number) | (1 << (port & 31));
}

function hasBit(set: Uint32Array, port: number): boolean {
  return ((set[port >>> 5] as number) & (1 << (port & 31))) !== 0;
}

/** An empty entry of a four-word table holds four EMPTY words, which no address of a socket is. */
function isEmptyEntry(table: Uint32Array, at: number): boolean {
  return table[at] === EMPTY && table[at + 1] === EMPTY && table[at + 2] === EMPTY && table[at + 3] === EMPTY;
}

function sameAddress(table: Uint32Array, at: number, a: Uint32Array): boolean {
  return table[at] === a[0] && table[at + 1] === a[1] && table[at + 2] === a[2] && table[at + 3] === a[3];
}

/** Spreads an address and a key over 32 bits. The host's own sockets choose them, not a sender. */
function mix(a: Uint32Array, key: number): number {
  let h = key ^ 0x9e3779b9;
  for (let i = 0; i < 4; i++) {
    h = Math.imul(h ^ (a[i] as number), 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h >>> 0;
}
